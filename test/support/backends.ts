// "A backend under test", in one shape for every suite that runs on both backends: its name, the
// gate that skips it outside CI when this machine lacks what it needs, and a sandbox with a
// database made by our own x2godbadmin --createdb (and --adduser on PostgreSQL), which the
// suite reads through plain SQL as the database's owner and drops afterwards. Suites loop over
// BACKENDS (or pick one with backendNamed) instead of each declaring its own fixture type; the
// one place that knows how each backend is set up is this file.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { lookupGroupId } from '../../src/system/accounts.js';
import { createPgSandbox, ensurePostgres, hasPostgres, pgDump, shareServiceLogin, superuser } from './postgres.js';
import { isRoot, requires, type Requirement } from './requirements.js';
import { createSandbox, type Sandbox } from './sandbox.js';
import { postgresSchema, sqliteSchema } from './schema.js';
import { ensureUser } from './system.js';

export type BackendKind = 'sqlite' | 'postgres';
type Condition = [met: boolean, what: string];

/** Conditions many suites share, to pass to `needs`. */
export const NEEDS_ROOT: Condition = [isRoot, 'root'];
export const NEEDS_X2GOUSER: Condition = [lookupGroupId('x2gouser') !== undefined, 'group x2gouser (x2goserver)'];

export interface DatabaseOptions {
  /** The PostgreSQL database's name (one per suite: roles are cluster-wide, databases are not). */
  database: string;
  /** Users given a role by x2godbadmin --adduser (PostgreSQL; SQLite has no users of its own). */
  users?: readonly string[];
  /** The sandbox's x2goserver.conf. */
  serverConf?: string;
  /** PostgreSQL: give the service role the suites' password and put it in the sandbox (support/postgres.ts). */
  serviceLogin?: boolean;
}

/** A sandbox with a created database of one backend. */
export interface TestDatabase extends Sandbox {
  backend: BackendUnderTest;
  /** PostgreSQL: the database's name; SQLite: the file. */
  database: string;
  /** A statement as the database's owner (`?` placeholders), every row as an object. */
  query<Row = Record<string, unknown>>(statement: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Every stored row, sorted: to show that a refused command changed nothing. */
  rows(): Promise<string>;
  /** The schema, normalized so that it is the same on every run (support/schema.ts). */
  schema(): Promise<string>;
  /** Removes the database and the sandbox. */
  drop(): Promise<void>;
}

export interface BackendUnderTest {
  kind: BackendKind;
  /** As suites name it in their titles. */
  name: string;
  /** The gate: this backend's own requirements (PostgreSQL: root and the cluster), and the suite's. */
  needs(...conditions: Condition[]): Requirement;
  /** A sandbox whose database x2godbadmin --createdb made (as root on PostgreSQL). */
  createDatabase(options: DatabaseOptions): Promise<TestDatabase>;
}

/** Each condition once, in order (a suite may name one the backend names too). */
function unique(conditions: Condition[]): Condition[] {
  return conditions.filter(([, what], i) => conditions.findIndex(([, other]) => other === what) === i);
}

function admin(box: Sandbox, args: string[]): void {
  const r = box.admin(args);
  assert.equal(r.code, 0, `x2godbadmin ${args.join(' ')}: ${r.stderr}`);
}

export const SQLITE: BackendUnderTest = {
  kind: 'sqlite',
  name: 'SQLite',
  needs: (...conditions) => requires(...conditions),
  async createDatabase(options) {
    const box = createSandbox();
    if (options.serverConf !== undefined) writeFileSync(join(box.configDir, 'x2goserver.conf'), options.serverConf);
    admin(box, ['--createdb']);
    return {
      ...box,
      backend: SQLITE,
      database: box.dbPath,
      query: async <Row>(statement: string, params: readonly unknown[] = []) => {
        // Reads open the file read-only, as a census must not change it.
        const reads = /^\s*select\b/i.test(statement);
        const db = new Database(box.dbPath, { readonly: reads });
        try {
          const prepared = db.prepare(statement);
          if (!reads) {
            prepared.run(...params);
            return [];
          }
          return prepared.all(...params) as Row[];
        } finally {
          db.close();
        }
      },
      rows: async () => box.dump(),
      schema: async () => sqliteSchema(box.dbPath),
      drop: async () => box.remove(),
    };
  },
};

export const POSTGRES: BackendUnderTest = {
  kind: 'postgres',
  name: 'PostgreSQL',
  // Root: ensurePostgres sets the superuser's password through peer authentication.
  needs: (...conditions) => requires(...unique([NEEDS_ROOT, ...conditions, [hasPostgres, 'PostgreSQL (apt-get install postgresql)']])),
  async createDatabase(options) {
    ensurePostgres();
    for (const user of options.users ?? []) ensureUser(user);
    const box = createPgSandbox(options.database, options.serverConf);
    for (const args of [['--createdb', '--force'], ...(options.users ?? []).map((u) => ['--adduser', u])]) admin(box, args);
    if (options.serviceLogin) shareServiceLogin(box.configDir);
    return {
      ...box,
      backend: POSTGRES,
      query: async <Row>(statement: string, params: readonly unknown[] = []) => {
        const sql = superuser(options.database);
        try {
          let n = 0;
          const numbered = statement.replace(/\?/g, () => `$${++n}`);
          return [...(await sql.unsafe(numbered, params as never[]))] as Row[];
        } finally {
          await sql.end();
        }
      },
      rows: () => pgDump(options.database),
      schema: () => postgresSchema(options.database),
    };
  },
};

/** Both backends, SQLite first: what every suite that runs "on both backends" loops over. */
export const BACKENDS: readonly BackendUnderTest[] = [SQLITE, POSTGRES];
