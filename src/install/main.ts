// x2godb-install [--prefix DIR] [--config DIR] [--node PATH]
// Puts the programs of this dist/ directory under the prefix (default /usr/lib/x2go-sessiondb)
// and builds the setgid launcher there. Run as root.

import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { install, InstallError } from './install-launcher.js';

try {
  const from = dirname(realpathSync(process.argv[1] ?? ''));
  for (const line of install(process.argv.slice(2), from)) process.stdout.write(`${line}\n`);
} catch (err) {
  const usage = err instanceof InstallError || String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`x2godb-install: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = usage ? 2 : 1;
}
