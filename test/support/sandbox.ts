// A configuration directory and a session database of a test's own, and the built programs
// pointed at them. Nothing here touches /etc/x2go or the system's database.

import {
  appendFileSync,
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { run, type Result, type RunOptions } from './system.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = readableDist(join(ROOT, 'dist'));

/** Whether every user may read `file`: it and each directory above it let others through. */
function othersReach(file: string): boolean {
  if ((statSync(file).mode & 0o004) === 0) return false;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === '/') return true;
  }
}

/**
 * The built programs, where the test users can run them. Tests run them as alice and bob; from a
 * checkout others cannot enter (a clone under /root, or in a mode 0700 directory) they would
 * fail with "Cannot find module", so this test process then uses a copy in a scratch directory
 * that everyone may read, removed when it exits.
 */
function readableDist(dist: string): string {
  const entry = join(dist, 'x2godb.cjs');
  if (!existsSync(entry) || othersReach(entry)) return dist;
  const copy = mkdtempSync(join(tmpdir(), 'x2godb-dist-'));
  cpSync(dist, copy, { recursive: true, verbatimSymlinks: true });
  for (const path of [copy, ...readdirSync(copy, { recursive: true }).map((p) => join(copy, String(p)))]) {
    const st = lstatSync(path);
    if (!st.isSymbolicLink()) chmodSync(path, st.mode | (st.isDirectory() || st.mode & 0o100 ? 0o055 : 0o044));
  }
  process.on('exit', () => rmSync(copy, { recursive: true, force: true }));
  return copy;
}

export interface Sandbox {
  dir: string;
  configDir: string;
  dbPath: string;
  /** x2godb with this sandbox's configuration, run directly by node (no launcher). */
  x2godb(args: readonly string[], options?: RunOptions): Result;
  /** A reference helper name from dist/helpers. */
  helper(name: string, args: readonly string[], options?: RunOptions): Result;
  admin(args: readonly string[], options?: RunOptions): Result;
  /** Every row of every table, sorted: to show that a refused command changed nothing. */
  dump(): string;
  remove(): void;
}

export function writeConfig(configDir: string, dbPath: string, extra = ''): void {
  mkdirSync(join(configDir, 'x2gosql'), { recursive: true });
  writeFileSync(join(configDir, 'x2gosql', 'sql'), `backend=sqlite\n\n[sqlite]\npath=${dbPath}\n${extra}`);
  writeFileSync(join(configDir, 'x2goserver.conf'), '[telekinesis]\nenable=no\n\n[log]\nloglevel=notice\n');
}

/** Quotas far above any load test's sessions and ports: for tests about something else. */
export const LOAD_TEST_QUOTA = 'sessions_per_user=65535\nports_per_user=65535\n';

/**
 * Sets the [quota] section of a configuration's x2gosql/sql (a service reads it again on its
 * next request); empty text removes it, back to the defaults.
 */
export function setQuota(configDir: string, text: string): void {
  const file = join(configDir, 'x2gosql', 'sql');
  const kept = readFileSync(file, 'utf8').split('\n[quota]\n')[0] ?? '';
  writeFileSync(file, kept);
  if (text) appendFileSync(file, `\n[quota]\n${text}`);
}

/**
 * Takes an open SQLite session database back to schema version 3, without migration 0004's row
 * checks: a file as the reference, or our code before 0004, left it.
 */
export function backToVersion3(db: Database.Database): void {
  const checks = db.prepare("select name from sqlite_master where type = 'trigger' and name like 'x2go_check_%'").pluck().all() as string[];
  for (const name of checks) db.exec(`drop trigger "${name}"`);
  db.pragma('user_version = 3');
}

export function dumpDatabase(dbPath: string): string {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("select name from sqlite_master where type = 'table' order by name").pluck().all() as string[];
    return tables
      .map((t) => {
        const rows = db
          .prepare(`select * from "${t.replace(/"/g, '""')}"`)
          .raw()
          .all()
          .map((r) => JSON.stringify(r))
          .sort();
        return [`-- ${t}`, ...rows].join('\n');
      })
      .join('\n');
  } finally {
    db.close();
  }
}

/** Test users must reach the sandbox's files (mkdtemp makes 0700 directories). */
export function createSandbox(prefix = 'x2godb-test-'): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  const configDir = join(dir, 'etc-x2go');
  const dbPath = join(dir, 'db', 'x2go_sessions');
  writeConfig(configDir, dbPath);
  const env = (options: RunOptions) => ({ ...options, env: { X2GO_CONFIG_DIR: configDir, ...options.env } });
  return {
    dir,
    configDir,
    dbPath,
    x2godb: (args, options = {}) => run(process.execPath, [join(DIST, 'x2godb.cjs'), ...args], env(options)),
    helper: (name, args, options = {}) => run(process.execPath, [join(DIST, 'helpers', name), ...args], env(options)),
    admin: (args, options = {}) => run(process.execPath, [join(DIST, 'x2godbadmin.cjs'), ...args], env(options)),
    dump: () => dumpDatabase(dbPath),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
