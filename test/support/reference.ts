// Debian's x2goserver 4.1.0.3, run beside ours. Its SQLite file has a fixed place (the home of
// x2gouser); suites that use it save and restore whatever was there.

import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { lookupGroupId, lookupUser, type Account } from '../../src/system/accounts.js';
import { run, type Result } from './system.js';
import { chownSync, chmodSync } from 'node:fs';

export const REFERENCE_LIB = '/usr/lib/x2go';
export const REFERENCE_WRAPPER = `${REFERENCE_LIB}/libx2go-server-db-sqlite3-wrapper`;
export const REFERENCE_DB = `${lookupUser('x2gouser')?.home ?? '/var/lib/x2go'}/x2go_sessions`;

/** A reference helper by name: /usr/lib/x2go/<name>, or /usr/bin for x2gogetservers. */
export function referenceProgram(name: string): string {
  return name === 'x2gogetservers' ? '/usr/bin/x2gogetservers' : `${REFERENCE_LIB}/${name}`;
}

export function runReference(name: string, args: readonly string[], as?: Account): Result {
  return run(referenceProgram(name), args, as ? { as } : {});
}

/** Puts a copy of `file` where the reference reads its database, owned as the reference wants. */
export function installReferenceDb(file: string): void {
  for (const suffix of ['-wal', '-shm', '-journal']) rmSync(REFERENCE_DB + suffix, { force: true });
  copyFileSync(file, REFERENCE_DB);
  chownSync(REFERENCE_DB, 0, lookupGroupId('x2gouser') ?? 0);
  chmodSync(REFERENCE_DB, 0o660);
}

/** Saves the reference's database and returns the function that puts it back. */
export function preserveReferenceDb(): () => void {
  const saved = `${REFERENCE_DB}.x2godb-test-saved`;
  const had = existsSync(REFERENCE_DB);
  if (had) copyFileSync(REFERENCE_DB, saved);
  return () => {
    if (had) {
      installReferenceDb(saved);
      rmSync(saved, { force: true });
    } else rmSync(REFERENCE_DB, { force: true });
  };
}
