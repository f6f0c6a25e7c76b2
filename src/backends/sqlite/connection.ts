// Opening the SQLite file and running writes so that many helper processes at once never fail
// with "database is locked": a busy timeout for ordinary waits, BEGIN IMMEDIATE for every write
// (a deferred transaction that later needs the write lock can deadlock and fail at once), and a
// bounded retry for the few BUSY cases SQLite reports without waiting (WAL recovery, snapshots).

import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import Driver, { type Database as BetterSqlite } from 'better-sqlite3';
import { mapSqliteError } from './errors.js';

/** The part of better-sqlite3 this adapter uses. */
export type Database = BetterSqlite;

/** How long one statement waits for the write lock before SQLite reports BUSY. */
const BUSY_TIMEOUT_MS = 5000;
/** Retries after a BUSY that the timeout did not absorb; waits grow from 10 ms, with jitter. */
const BUSY_RETRIES = 6;

export interface OpenOptions {
  /** Create the file if it does not exist (x2godbadmin only; helpers refuse a missing file). */
  create?: boolean;
  readonly?: boolean;
  /** SQLite's own wait for a lock, which blocks the thread (default BUSY_TIMEOUT_MS). */
  busyTimeoutMs?: number;
  /** Prepare each statement once and keep it (a connection that answers many requests: the service's). */
  reuseStatements?: boolean;
}

/** Distinct statements kept per connection; the store's are far fewer (its SQL is fixed text). */
const MAX_KEPT_STATEMENTS = 256;

/**
 * Makes db.prepare return the statement prepared before for the same text: preparing cost a
 * request of the service as much as running the query. A kept statement is handed out with
 * better-sqlite3's default modes, whatever raw() or pluck() the last user set.
 */
function reuseStatements(db: Database): void {
  const prepare = db.prepare.bind(db);
  const kept = new Map<string, ReturnType<Database['prepare']>>();
  db.prepare = ((sql: string) => {
    const statement = kept.get(sql);
    if (statement) {
      if (statement.reader) statement.raw(false).pluck(false).expand(false);
      return statement;
    }
    const prepared = prepare(sql);
    if (kept.size >= MAX_KEPT_STATEMENTS) kept.delete(kept.keys().next().value as string);
    kept.set(sql, prepared);
    return prepared;
  }) as Database['prepare'];
}

/**
 * Whether a path exists, judged with the effective group. fs.existsSync asks access(2), which
 * judges with the real uid and gid, so through the setgid launcher it would deny the database.
 */
export function exists(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/**
 * The compiled addon: beside the bundle once built (scripts/build.mjs copies it there), in
 * node_modules when running from source. Naming it skips the `bindings` package's search.
 */
function nativeBinding(): string {
  const beside = fileURLToPath(new URL('./better_sqlite3.node', import.meta.url));
  if (exists(beside)) return beside;
  return createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
}

/**
 * SQLite creates the -wal and -shm files with the database file's mode filtered by the process
 * umask, and only then fchmods them to the database's mode. A caller with umask 022 (a login
 * shell's) thus creates them 0640 for a moment, and another helper process of another user that
 * opens them in that moment has no write access ("no write access to the session database").
 * Clearing the group bits from the umask makes them 0660 (the file's own mode) from creation.
 * It loosens nothing else: what is created with an explicit mode (password files, 0600) keeps
 * it, and the umask's bits for others stay as they are.
 */
export function keepGroupAccessOnCreate(): void {
  const mask = process.umask();
  if ((mask & 0o070) !== 0) process.umask(mask & ~0o070);
}

export function openDatabase(path: string, options: OpenOptions = {}): Database {
  keepGroupAccessOnCreate();
  // better-sqlite3 reports a missing file or directory as a bare TypeError; name it ourselves.
  if (!options.create && !exists(path)) throw mapSqliteError({ code: 'SQLITE_CANTOPEN' }, `open ${path}`);
  try {
    const db = new Driver(path, {
      fileMustExist: !options.create,
      readonly: options.readonly ?? false,
      timeout: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS,
      nativeBinding: nativeBinding(),
    });
    if (options.reuseStatements) reuseStatements(db);
    return db;
  } catch (err) {
    throw mapSqliteError(err, `open ${path}`);
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function pause(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Runs `work` in a BEGIN IMMEDIATE transaction, retrying a bounded number of times on BUSY. */
export function writeTransaction<T>(db: Database, work: () => T): T {
  const tx = db.transaction(work);
  for (let attempt = 0; ; attempt++) {
    try {
      return tx.immediate();
    } catch (err) {
      if (!isBusy(err) || attempt >= BUSY_RETRIES) throw err;
      pause(10 * 2 ** attempt * (0.5 + Math.random()));
    }
  }
}

/**
 * For a thread that serves other requests meanwhile (the resident service's): runs
 * `attempt` (one read, or one whole write transaction: on BUSY nothing of it was done) until it
 * succeeds or fails otherwise than BUSY. Between attempts it waits on a timer, not in SQLite's
 * blocking busy wait, so the thread goes on answering; after `forMs` the BUSY error is thrown.
 */
export async function retryWhileBusy<T>(attempt: () => T, forMs: number): Promise<T> {
  const deadline = Date.now() + forMs;
  for (let round = 0; ; round++) {
    try {
      return attempt();
    } catch (err) {
      if (!isBusy(err) || Date.now() >= deadline) throw err;
      // 5 ms doubling up to 100 ms, with jitter: quick after a short lock, cheap during a long one.
      await new Promise((resolve) => setTimeout(resolve, Math.min(5 * 2 ** round, 100) * (0.5 + Math.random())));
    }
  }
}
