// bench/timeit.c, built for a benchmark run: every call the benchmarks time is a fresh process,
// timed from its fork to its exit (Node's own cost of spawning belongs to neither side).

import { chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scratchDir } from '../test/support/scratch.js';
import { run } from '../test/support/system.js';

/** Builds bench/timeit.c into a directory every user may run from (removed when the run ends). */
export function buildTimeit(): string {
  const dir = scratchDir('x2godb-timeit-');
  chmodSync(dir, 0o755);
  const exe = join(dir, 'timeit');
  const built = run('/usr/bin/cc', ['-O2', '-o', exe, join(dirname(fileURLToPath(import.meta.url)), 'timeit.c')]);
  if (built.code !== 0) throw new Error(`cc timeit.c: ${built.stderr}`);
  return exe;
}
