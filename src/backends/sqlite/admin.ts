// x2godbadmin's work on the SQLite file: create it, bring an older file (the reference's too) up
// to date, and leave it as the reference does: root:x2gouser 0660 in a root:x2gouser 0770
// directory, so that ordinary users reach it only through the setgid launcher.

import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { AdminBackend, AdminReport } from '../../model/admin.js';
import { SessionDbError } from '../../model/errors.js';
import { lookupGroupId } from '../../system/accounts.js';
import { exists, openDatabase, type Database } from './connection.js';
import { mapSqliteError } from './errors.js';
import { exportSqlite } from './export.js';
import { migrate, schemaVersion } from './migrate.js';
import type { SessionDump } from '../../model/transfer.js';
import { describeMigrations, failedMigration, migrationLabel } from '../../model/migrations.js';

const COMPANION_SUFFIXES = ['-wal', '-shm', '-journal'];

function sessionCount(path: string): number {
  const db = openDatabase(path, { readonly: true });
  try {
    const hasSessions = db.prepare("select 1 from sqlite_master where type = 'table' and name = 'sessions'").get();
    return hasSessions ? (db.prepare('select count(*) from sessions').pluck().get() as number) : 0;
  } finally {
    db.close();
  }
}

/**
 * The database file and its companions, as lstat sees them (not following a symlink): present
 * ones must be regular files. The directory is writable by group x2gouser, so whoever holds the
 * group can plant `x2go_sessions-wal -> /etc/shadow` there; root would then write SQLite's
 * journal into the target, or chmod and chown it. Refused before anything is changed.
 */
function assertRegularFiles(path: string): string[] {
  const present: string[] = [];
  for (const file of [path, ...COMPANION_SUFFIXES.map((s) => path + s)]) {
    const st = lstatSync(file, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (!st.isFile()) {
      const what = st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
      throw new SessionDbError(
        'config',
        `${file} is ${what}; someone with write access to ${dirname(path)} may have planted it. Nothing was changed: remove it and check the directory`,
      );
    }
    present.push(file);
  }
  return present;
}

/**
 * chmod and chown one file through a descriptor opened without following a symlink, so that a
 * link planted after the check above still cannot turn root's change onto another file.
 */
function protectFile(file: string, gid: number | undefined): void {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new SessionDbError('config', `${file} is a symbolic link or cannot be opened; left unchanged`, { cause: err });
  }
  try {
    if (!fstatSync(fd).isFile()) throw new SessionDbError('config', `${file} is not a regular file; left unchanged`);
    fchmodSync(fd, 0o660);
    if (gid !== undefined) fchownSync(fd, 0, gid);
  } finally {
    closeSync(fd);
  }
}

/** The new file, made here and never through a link planted since the check: SQLite then opens a regular file. */
function createEmpty(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
  } catch (err) {
    throw new SessionDbError('config', `${path} appeared while it was being created (a planted link?); nothing was written through it`, {
      cause: err,
    });
  }
}

/**
 * The reference's ownership and modes; only root can give the file to group x2gouser. The
 * directory is changed only when it is the database's own (we created it, or it is x2gouser's
 * home, as in the reference); a shared directory such as /tmp is left alone, with a warning.
 */
function protect(path: string, ownDirectory: boolean): string[] {
  const files = assertRegularFiles(path);
  const root = process.getuid?.() === 0;
  const gid = root ? lookupGroupId('x2gouser') : undefined;
  if (root && gid === undefined) throw new SessionDbError('config', 'group x2gouser does not exist; install x2goserver first');
  for (const file of files) protectFile(file, gid);
  if (!root || gid === undefined) return [];
  const dir = dirname(path);
  if (ownDirectory) {
    chownSync(dir, 0, gid);
    chmodSync(dir, 0o770);
    return [];
  }
  return (statSync(dir).mode & 0o007) === 0
    ? []
    : [`warning: ${dir} is open to all users; keep the database in a root:x2gouser 0770 directory`];
}

/** WAL lets listings read while a login writes; the mode is stored in the file, so set it once here. */
function useWal(db: Database): string {
  return String(db.pragma('journal_mode = WAL', { simple: true }));
}

/** The migrations' report; a failed one ends it, with what was applied before it. */
function upgrade(path: string, create: boolean): AdminReport {
  const db = openDatabase(path, { create });
  try {
    const run = migrate(db);
    const lines = describeMigrations(run.results);
    const failed = failedMigration(run);
    if (failed) return { lines, failure: mapSqliteError(run.error, `apply ${migrationLabel(failed)} to ${path}`) };
    const journal = useWal(db);
    return {
      lines: [...lines, `${path}: schema version ${schemaVersion(db)}, journal mode ${journal}`],
    };
  } catch (err) {
    throw mapSqliteError(err, `update ${path}`);
  } finally {
    db.close();
  }
}

export class SqliteAdmin implements AdminBackend {
  readonly #path: string;
  /** Whether the directory holding the file belongs to the database (the x2gouser home). */
  readonly #ownDirectory: boolean;

  constructor(path: string, ownDirectory: boolean) {
    this.#path = path;
    this.#ownDirectory = ownDirectory;
  }

  createdb(options: { force: boolean }): Promise<AdminReport> {
    const path = this.#path;
    const lines: string[] = [];
    assertRegularFiles(path);
    if (exists(path)) {
      const held = sessionCount(path);
      if (held > 0 && !options.force) {
        throw new SessionDbError(
          'conflict',
          `${path} holds ${held} session(s); --createdb would delete them. Use --updatedb to keep them, or --force to start empty`,
        );
      }
      for (const suffix of ['', ...COMPANION_SUFFIXES]) rmSync(path + suffix, { force: true });
      lines.push(`removed ${path}${held > 0 ? ` with ${held} session(s)` : ''}`);
    }
    const createdDirectory = mkdirSync(dirname(path), { recursive: true, mode: 0o770 }) !== undefined;
    createEmpty(path);
    const report = upgrade(path, true);
    if (report.failure) return Promise.resolve({ lines: [...lines, ...report.lines], failure: report.failure });
    const warnings = protect(path, this.#ownDirectory || createdDirectory);
    return Promise.resolve({ lines: [...lines, ...report.lines, `created ${path}`, ...warnings] });
  }

  exportSessions(): Promise<SessionDump> {
    assertRegularFiles(this.#path);
    return Promise.resolve(exportSqlite(this.#path));
  }

  updatedb(): Promise<AdminReport> {
    // As the reference: updating a file that is not there creates it.
    if (!exists(this.#path)) return this.createdb({ force: false });
    assertRegularFiles(this.#path);
    return Promise.resolve(upgrade(this.#path, false));
  }
}
