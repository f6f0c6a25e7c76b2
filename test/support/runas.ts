// x2gosessiond-runas for tests: the root helper that runs X2Go's terminate/suspend programs as a
// session's user for the service (which has no root), started beside a test's service as
// x2gosessiond-runas.service runs beside x2gosessiond.service.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DIST } from './sandbox.js';
import { scratchDir } from './scratch.js';

/**
 * x2gosessiond-runas for one node: its server name, the programs of the first directory of
 * `path` that holds stand-ins (else x2goserver's), a root-owned socket directory. Resolves with
 * the socket once it listens.
 */
export async function startRunAs(configDir: string, node: string, path: string | undefined, started: ChildProcess[]): Promise<string> {
  const first = path?.split(':')[0];
  const programs = first && existsSync(join(first, 'x2goterminate-session')) ? first : '/usr/bin';
  const dir = scratchDir('x2godb-runas-');
  chmodSync(dir, 0o755);
  const socket = join(dir, 'runas.sock');
  const child = spawn(
    process.execPath,
    [join(DIST, 'x2gosessiond-runas.cjs'), '--config', configDir, '--socket', socket, '--programs', programs, '--hostname', node],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.unref();
  (child.stderr as unknown as { unref(): void } | null)?.unref();
  started.push(child);
  for (let waited = 0; !existsSync(socket); waited += 20) {
    if (waited > 10_000 || child.exitCode !== null) throw new Error(`x2gosessiond-runas for ${node} did not come up: ${log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return socket;
}
