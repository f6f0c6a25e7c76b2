// Who connects, with which password: root as x2godbuser with
// <config>/x2gosql/passwords/x2gopgadmin, a user as x2gouser_<name> with ~/.x2go/pgsqlpass.
// Legacy file names are moved as the reference moves them. A password file that others may
// read is refused: the reference created root's world-readable.

import { readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SessionDbError } from '../../model/errors.js';
import type { Caller } from '../../model/types.js';
import { ADMIN_ROLE, SERVICE_ROLE, userRole } from './identifiers.js';

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
    user: caller.uid === 0 ? ADMIN_ROLE : userRole(caller.name),
    password: readPasswordFile(file.path, caller.uid, file.remedy),
  };
}

/** The resident service's login, from <config>/x2gosql/passwords/x2gosessiond (root's, 0600). */
export function serviceLogin(configDir: string): Login {
  return {
    user: SERVICE_ROLE,
    password: readPasswordFile(join(passwordsDir(configDir), 'x2gosessiond'), 0, 'run x2godbadmin --updatedb as root'),
  };
}
