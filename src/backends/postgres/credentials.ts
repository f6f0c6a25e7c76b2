// Who connects, with which password: root as x2godbuser with
// <config>/x2gosql/passwords/x2gopgadmin, a user as x2gouser_<name> with ~/.x2go/pgsqlpass.
// Legacy file names are moved as the reference moves them. A password file that others may
// read is refused: the reference created root's world-readable. The resident service's login is
// read again whenever its file changes (x2godbadmin --createdb gives the role a new password).

import { readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SessionDbError } from '../../model/errors.js';
import type { Caller } from '../../model/types.js';
import { callerRole, SERVICE_ROLE } from './identifiers.js';

export interface Login {
  user: string;
  password: string;
}

export function passwordsDir(configDir: string): string {
  return join(configDir, 'x2gosql', 'passwords');
}

interface PasswordFile {
  path: string;
  legacy: string;
  /** What to tell the administrator when there is no file. */
  remedy: string;
}

function statOrUndefined(path: string) {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** As the reference: the legacy file moves to the new name unless a non-empty new file exists. */
function moveLegacy(file: PasswordFile): void {
  const legacy = statOrUndefined(file.legacy);
  if (!legacy) return;
  const current = statOrUndefined(file.path);
  if (current && current.size > 0) {
    throw new SessionDbError('config', `both ${file.legacy} and ${file.path} exist; remove the legacy ${file.legacy}`);
  }
  renameSync(file.legacy, file.path);
}

/** Reads a password file that only its owner (the caller) may read. */
export function readPasswordFile(path: string, ownerUid: number, remedy: string): string {
  const st = statOrUndefined(path);
  if (!st) throw new SessionDbError('config', `cannot read password file ${path}; ${remedy}`);
  if (st.uid !== ownerUid) throw new SessionDbError('config', `password file ${path} is not owned by uid ${ownerUid}; ${remedy}`);
  if ((st.mode & 0o077) !== 0) {
    throw new SessionDbError(
      'config',
      `password file ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
    );
  }
  const password = readFileSync(path, 'utf8').split('\n')[0] ?? '';
  if (!password) throw new SessionDbError('config', `password file ${path} is empty; ${remedy}`);
  return password;
}

export function callerLogin(caller: Caller, home: string, configDir: string): Login {
  const file: PasswordFile =
    caller.uid === 0
      ? {
          path: join(passwordsDir(configDir), 'x2gopgadmin'),
          legacy: join(passwordsDir(configDir), 'x2goadmin'),
          remedy: 'run x2godbadmin --createdb (or --updatedb) as root',
        }
      : {
          path: join(home, '.x2go', 'pgsqlpass'),
          legacy: join(home, '.x2go', 'sqlpass'),
          remedy: `ask the administrator to run: x2godbadmin --adduser ${caller.name}`,
        };
  moveLegacy(file);
  return {
    user: callerRole(caller),
    password: readPasswordFile(file.path, caller.uid, file.remedy),
  };
}

/**
 * The resident service's password file, <config>/x2gosql/x2gosessiond.password, owned by the
 * service's account (_x2gosessiond), mode 0600. Not in passwords/: x2goserver's package keeps
 * that directory root's 0700 on every upgrade, and the service does not run as root.
 */
export function serviceLoginFile(configDir: string): string {
  return join(configDir, 'x2gosql', 'x2gosessiond.password');
}

/** Where it was before the service left root: moved by x2godbadmin --updatedb. */
export function legacyServiceLoginFile(configDir: string): string {
  return join(passwordsDir(configDir), 'x2gosessiond');
}

const SERVICE_REMEDY = 'run x2godbadmin --updatedb as root';

/**
 * A login for a process that lives longer than a password: the password is asked for whenever a
 * connection is made, so a rewritten file counts from the next connection on.
 */
export interface LiveLogin {
  user: string;
  /**
   * The password as the file says now (read again when the file changed). Never throws:
   * postgres.js calls it in the middle of its login exchange.
   */
  password(): string;
  /**
   * Reads the file again even if it looks unchanged (an edit within the clock's tick, same
   * size, same file): true if that gave another password, so that a refused login is worth
   * retrying.
   */
  reread(): boolean;
  /** Why the file, changed since, could not be used (its last good password is used meanwhile). */
  problem(): SessionDbError | undefined;
}

/** What changes whenever the file is replaced or written. */
function fileStamp(path: string): string {
  const st = statOrUndefined(path);
  return st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : '-';
}

/**
 * The service's login, kept up to date with its file. A file that cannot be used at start is an
 * error, as for every other login. One that becomes unusable later (mode, owner, emptied half-way
 * through an edit) leaves the last good password in use, which may well still log in, and is
 * read again at the next connection; problem() then says what is wrong with it.
 */
export function liveServiceLogin(configDir: string): LiveLogin {
  const path = serviceLoginFile(configDir);
  // The service's own file: whoever runs it (its account, or root) owns it.
  const owner = process.geteuid?.() ?? 0;
  // The stamp is taken before reading: a change made while reading is seen next time.
  let stamp = fileStamp(path);
  let current = readPasswordFile(path, owner, SERVICE_REMEDY);
  let problem: SessionDbError | undefined;
  const refresh = (force: boolean): void => {
    const now = fileStamp(path);
    if (now === stamp && !force) return;
    try {
      current = readPasswordFile(path, owner, SERVICE_REMEDY);
      stamp = now;
      problem = undefined;
    } catch (err) {
      problem =
        err instanceof SessionDbError
          ? err
          : new SessionDbError('config', `cannot read password file ${path}; ${SERVICE_REMEDY}`, { cause: err });
    }
  };
  return {
    user: SERVICE_ROLE,
    password: () => {
      refresh(false);
      return current;
    },
    reread: () => {
      const before = current;
      refresh(true);
      return current !== before;
    },
    problem: () => problem,
  };
}
