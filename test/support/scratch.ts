// Scratch directories in /tmp that go when the test process ends, however it ends short of a
// SIGKILL: sockets of services and runas helpers, stand-in programs. The suite must leave a
// live server's /tmp as it found it (each test file is a process of its own).

import { mkdtempSync, rmSync } from 'node:fs';

const made: string[] = [];
let hooked = false;

/** mkdtemp under /tmp (not $TMPDIR: the service's account and test users must reach it), removed at exit. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(`/tmp/${prefix}`);
  made.push(dir);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const d of made) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}
