// x2godbadmin's work on the SQLite file: create it, bring an older file (the reference's too) up
// to date, and leave it as the reference does: root:x2gouser 0660 in a root:x2gouser 0770
// directory, so that ordinary users reach it only through the setgid launcher.

import { chmodSync, chownSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AdminBackend, AdminReport } from '../../model/admin.js';
import { SessionDbError } from '../../model/errors.js';
import { lookupGroupId } from '../../system/accounts.js';
import { exists, openDatabase, type Database } from './connection.js';
import { mapSqliteError } from './errors.js';
import { migrate, schemaVersion } from './migrate.js';
import { describeMigrations } from '../../model/migrations.js';

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
 * The reference's ownership and modes; only root can give the file to group x2gouser. The
 * directory is changed only when it is the database's own (we created it, or it is x2gouser's
 * home, as in the reference); a shared directory such as /tmp is left alone, with a warning.
 */
function protect(path: string, ownDirectory: boolean): string[] {
  const files = [path, ...COMPANION_SUFFIXES.map((s) => path + s)].filter((f) => exists(f));
  for (const file of files) chmodSync(file, 0o660);
  if (process.getuid?.() !== 0) return [];
  const gid = lookupGroupId('x2gouser');
  if (gid === undefined) throw new SessionDbError('config', 'group x2gouser does not exist; install x2goserver first');
  for (const file of files) chownSync(file, 0, gid);
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

function upgrade(path: string, create: boolean): AdminReport {
  const db = openDatabase(path, { create });
  try {
    const results = migrate(db);
    const journal = useWal(db);
    return {
      lines: [...describeMigrations(results), `${path}: schema version ${schemaVersion(db)}, journal mode ${journal}`],
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
    const report = upgrade(path, true);
    const warnings = protect(path, this.#ownDirectory || createdDirectory);
    return Promise.resolve({ lines: [...lines, ...report.lines, `created ${path}`, ...warnings] });
  }

  updatedb(): Promise<AdminReport> {
    // As the reference: updating a file that is not there creates it.
    if (!exists(this.#path)) return this.createdb({ force: false });
    return Promise.resolve(upgrade(this.#path, false));
  }
}
