// The reference (Debian's x2goserver 4.1.0.3, Perl) and ours, side by side on copies of the same
// database: one scripted scenario run through the reference's wrapper and helpers and through
// ours (the installed launcher, under the same names), as the same real users. Each step's stdout
// must match after run-dependent values are normalised, and so must the final database.
// Also here, because they share the reference's fixed database file: schema equality, files
// made by one implementation used by the other, and --updatedb on a pre-telekinesis file.

import assert from 'node:assert/strict';
import { copyFileSync, chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { WRAPPER_NAME } from '../src/install/install-launcher.js';
import { lookupGroupId } from '../src/system/accounts.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { LISTED_TIME } from './support/listing.js';
import { installReferenceDb, preserveReferenceDb, REFERENCE_DB, runReference } from './support/reference.js';
import { NEEDS_ROOT, SQLITE } from './support/backends.js';
import { hasCompiler, hasReference } from './support/requirements.js';
import { createSandbox, dumpDatabase, writeConfig, type Sandbox } from './support/sandbox.js';
import { A, A2_RDP, B, COOKIE, runOurs, runReferenceSqlite, scenarioUsers, SHARE, SRV, type Step, type Users } from './support/scenario.js';
import { run, type Result } from './support/system.js';

const needs = SQLITE.needs(NEEDS_ROOT, [hasReference, 'the reference (apt-get install x2goserver)'], [hasCompiler, '/usr/bin/cc']);

const A2 = A2_RDP;

const SCENARIO: Step[] = [
  ['alice', 'x2goinsertsession', '51', SRV, A],
  ['alice', 'x2goinsertport', SRV, A, '30001'],
  ['alice', 'x2goinsertport', SRV, A, '30002'],
  ['alice', 'x2goinsertport', SRV, A, '30003'],
  ['alice', 'x2gocreatesession', A, COOKIE, '3999991', '10.1.2.3', '30001', '30002', '30003', '-1', '-1'],
  ['bob', 'x2goinsertsession', '61', SRV, B],
  ['bob', 'x2goinsertport', SRV, B, '30011'],
  ['bob', 'x2goinsertport', SRV, B, '30012'],
  ['bob', 'x2goinsertport', SRV, B, '30013'],
  ['bob', 'x2gocreatesession', B, COOKIE, '3999992', '10.1.2.4', '30011', '30012', '30013', '-1', '-1'],
  ['alice', 'x2goinsertsession', '52', SRV, A2],
  ['alice', 'wrapper', 'listsessions', SRV],
  ['alice', 'wrapper', 'listsessions_all'],
  ['bob', 'wrapper', 'listsessions_all'],
  ['alice', 'x2gogetdisplays', SRV],
  ['alice', 'x2gogetports', SRV],
  ['bob', 'x2gogetservers'],
  ['alice', 'wrapper', 'getservers'],
  ['alice', 'x2gochangestatus', 'S', A],
  ['alice', 'x2gogetstatus', A],
  ['alice', 'wrapper', 'listsessions', SRV],
  ['alice', 'x2goresume', '10.1.2.5', A, '30001', '30002', '30003'],
  ['alice', 'wrapper', 'getstatus', A],
  ['alice', 'x2gogetagent', A],
  ['alice', 'wrapper', 'getagent', A],
  ['alice', 'wrapper', 'getdisplay', A],
  ['alice', 'wrapper', 'insertmount', A, '/tmp/.x2go-alice/media/disk/_home_alice', '10.1.2.5'],
  ['alice', 'wrapper', 'insertmount', A, '/tmp/.x2go-alice/media/disk/_home_alice', '10.1.2.5'],
  ['alice', 'wrapper', 'insertmount', A, '/tmp/.x2go-alice/media/disk/_data', '10.1.2.5'],
  ['alice', 'wrapper', 'getmounts', A],
  ['alice', 'wrapper', 'deletemount', A, '/tmp/.x2go-alice/media/disk/_data'],
  ['alice', 'wrapper', 'getmounts', A],
  ['alice', 'x2goinsertshadowsession', '71', SRV, SHARE, 'bob'],
  ['alice', 'x2goinsertport', SRV, SHARE, '30021'],
  ['alice', 'x2gocreateshadowsession', SHARE, COOKIE, '3999993', SRV, '30021', '30022', '30023', 'bob'],
  ['bob', 'wrapper', 'listshadowsessions', SRV],
  ['bob', 'wrapper', 'listshadowsessions_all'],
  ['alice', 'wrapper', 'listshadowsessions_all'],
  ['alice', 'x2gochangestatus', 'S', SHARE],
  ['alice', 'x2gormport', SRV, A, '30003'],
  ['alice', 'wrapper', 'rmport', SRV, A, '30002'],
  ['root', 'x2golistsessions_sql', SRV],
  ['root', 'wrapper', 'listsessionsroot', SRV],
  ['alice', 'x2gochangestatus', 'F', A2],
  ['bob', 'x2gochangestatus', 'T', B],
  ['bob', 'wrapper', 'changestatus', 'F', B],
  ['root', 'x2golistsessions_sql', '--all-servers'],
  ['root', 'wrapper', 'listsessionsroot_all'],
  ['root', 'wrapper', 'getmounts', A],
  ['root', 'wrapper', 'deletemounts', A],
  ['root', 'wrapper', 'rmsessionsroot', A],
  ['root', 'wrapper', 'listsessionsroot_all'],
  ['root', 'x2gogetports', SRV],
  // Refusals print nothing on stdout in both (the reference swallows the error).
  ['alice', 'wrapper', 'getstatus', SHARE.replace('XSHADalice', 'XSHADbob')],
  ['bob', 'wrapper', 'getstatus', A],
  ['bob', 'wrapper', 'listsessionsroot_all'],
  ['alice', 'wrapper', 'insertsession', '71', SRV, 'alice-71-1700000099_stDxfce_dp24'],
];

const TIME = LISTED_TIME;

/** Timestamps become <time>; in session rows (14 or 16 fields) the age column becomes <age>. */
export function normalize(stdout: string): string {
  return stdout
    .split('\n')
    .map((line) => {
      const fields = line.replace(TIME, '<time>').split('|');
      if (fields.length === 14 || fields.length === 16) fields[12] = '<age>';
      return fields.join('|');
    })
    .join('\n');
}

function normalizedDump(file: string): string {
  return dumpDatabase(file).replace(TIME, '<time>').split('\n').sort().join('\n');
}

describe('differential: the reference and ours on the same scenario (SQLite)', needs.options, () => {
  let restore: () => void = () => {};
  let box: Sandbox;
  let inst: Installed;
  let users: Users;
  let initial: string;
  let scratch: string;

  before(() => {
    needs.check();
    restore = preserveReferenceDb();
    users = scenarioUsers();
    scratch = mkdtempSync(join(tmpdir(), 'x2godb-diff-'));
    // The starting point: an empty database made by the reference's own x2godbadmin.
    const made = run('/usr/sbin/x2godbadmin', ['--createdb']);
    assert.equal(made.code, 0, made.stderr);
    initial = join(scratch, 'initial.db');
    copyFileSync(REFERENCE_DB, initial);

    box = createSandbox();
    box.admin(['--createdb']);
    copyFileSync(initial, box.dbPath);
    chownSync(box.dbPath, 0, lookupGroupId('x2gouser') ?? 0);
    chmodSync(box.dbPath, 0o660);
    inst = installLauncher(box);
  });
  after(() => {
    restore();
    box?.remove();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const reference = (step: Step): Result => runReferenceSqlite(users, step);
  const ours = (step: Step): Result => runOurs(inst, users, step);

  test(`${SCENARIO.length} steps print the same, and leave the same database`, () => {
    installReferenceDb(initial);
    const theirs = SCENARIO.map(reference);
    const mine = SCENARIO.map(ours);
    // Not a comparison of two silences: most steps print something.
    assert.ok(theirs.filter((r) => r.stdout !== '').length >= 40);
    SCENARIO.forEach((step, i) => {
      const what = `step ${i + 1}: ${step.join(' ')}`;
      assert.equal(normalize(mine[i]?.stdout ?? ''), normalize(theirs[i]?.stdout ?? ''), `${what}\nour stderr: ${mine[i]?.stderr}`);
      if ((theirs[i]?.stdout ?? '') !== '') assert.equal(mine[i]?.code, 0, `${what}: ${mine[i]?.stderr}`);
    });
    assert.equal(normalizedDump(box.dbPath), normalizedDump(REFERENCE_DB));
  });

  test('intentional differences: where the reference is silent or wrong, we refuse with a reason', () => {
    installReferenceDb(initial);
    copyFileSync(initial, box.dbPath);
    const alice = users.alice;
    // A port for a session that does not exist: the reference stores it, we refuse.
    const step: Step = ['alice', 'x2goinsertport', SRV, A, '30001'];
    assert.equal(reference(step).stdout, 'inserted');
    const mine = ours(step);
    assert.deepEqual([mine.code, mine.stdout], [1, '']);
    assert.match(mine.stderr, /no session .* in the session database/);
    // A malformed session id: the reference strips the bad characters and goes on; we refuse.
    const bad: Step = ['alice', 'wrapper', 'insertsession', '55', SRV, `${A.replace('51', '55')}';`];
    assert.equal(reference(bad).stdout, 'ok');
    assert.equal(ours(bad).code, 2);
    // A status outside R, S, T, F: stored by the reference, refused by us.
    assert.equal(runReference('libx2go-server-db-sqlite3-wrapper', ['changestatus', 'X', A.replace('51', '55')], alice).stdout, 'ok');
    assert.equal(ours(['alice', 'wrapper', 'changestatus', 'X', A.replace('51', '55')]).code, 2);
    // Errors: the reference's wrapper prints nothing and exits 0; ours says why and exits non-zero.
    const first: Step = ['alice', 'wrapper', 'insertsession', '56', SRV, 'alice-56-1700000056_stDxfce_dp24'];
    assert.equal(reference(first).stdout, 'ok');
    assert.equal(ours(first).stdout, 'ok');
    const clash: Step = ['alice', 'wrapper', 'insertsession', '56', SRV, 'alice-56-1700000057_stDxfce_dp24'];
    const [theirs, mine2] = [reference(clash), ours(clash)];
    assert.deepEqual([theirs.stdout, theirs.code], ['', 0]);
    assert.deepEqual([mine2.stdout, mine2.code], ['', 1]);
    assert.match(mine2.stderr, /display 56 is already in use/);
  });

  test("schema: a file made by our --createdb has the reference's tables, columns, keys and triggers", () => {
    const file = join(scratch, 'ours.db');
    writeConfig(join(scratch, 'cfg'), file);
    assert.equal(box.admin(['--createdb'], { env: { X2GO_CONFIG_DIR: join(scratch, 'cfg') } }).code, 0);
    // Ours adds the row checks of migration 0004 (x2go_check_*), an index (0005, x2go_*) and the farm's
    // tables (0006); the rest is the reference's.
    const shape = schemaShape(file);
    assert.deepEqual(shape.farmTables, FARM_TABLES);
    const ourChecks = shape.triggers.filter(([name]) => name?.startsWith('x2go_check_'));
    assert.deepEqual(
      ourChecks.map(([name]) => name),
      [
        'x2go_check_mounts_insert',
        'x2go_check_mounts_update',
        'x2go_check_sessions_insert',
        'x2go_check_sessions_update',
        'x2go_check_used_ports_insert',
        'x2go_check_used_ports_update',
      ],
    );
    const indexes = shape.indexes.map(([table, list]) => [table, (list as { name: string }[]).filter((i) => !i.name.startsWith('x2go_'))]);
    const theirs = schemaShape(initial);
    assert.deepEqual(theirs.farmTables, []);
    assert.deepEqual({ ...shape, farmTables: [], indexes, triggers: shape.triggers.filter((t) => !ourChecks.includes(t)) }, theirs);
  });

  test('the reference and ours take turns on a file our x2godbadmin created (WAL mode)', () => {
    const alice = users.alice;
    writeConfig(box.configDir, REFERENCE_DB);
    try {
      assert.equal(box.admin(['--createdb', '--force']).code, 0);
      assert.equal(runReference('x2goinsertsession', ['51', SRV, A], alice).stdout, 'inserted');
      assert.equal(inst.helper('x2goinsertport', [SRV, A, '30001'], alice).stdout, 'inserted');
      assert.equal(runReference('x2goinsertport', [SRV, A, '30002'], alice).stdout, 'inserted');
      assert.equal(
        inst.helper('x2gocreatesession', [A, COOKIE, '3999991', '10.1.2.3', '30001', '30002', '30003', '-1', '-1'], alice).code,
        0,
      );
      assert.equal(inst.helper('x2goinsertsession', ['61', SRV, B], users.bob).stdout, 'inserted');
      const theirs = runReference('libx2go-server-db-sqlite3-wrapper', ['listsessions', SRV], alice).stdout;
      assert.match(theirs, /^3999991\|alice-51-/);
      assert.equal(normalize(inst.helper(WRAPPER_NAME, ['listsessions', SRV], alice).stdout), normalize(theirs));
      const root = runReference('x2golistsessions_sql', ['--all-servers']).stdout;
      assert.deepEqual(
        root
          .trim()
          .split('\n')
          .map((l) => l.split('|')[1])
          .sort(),
        [A, B],
      );
      assert.equal(normalize(inst.helper('x2golistsessions_sql', ['--all-servers']).stdout), normalize(root));
    } finally {
      writeConfig(box.configDir, box.dbPath);
    }
  });

  test('--updatedb brings a pre-telekinesis file up to date, keeping its sessions; the reference reads it', () => {
    const old = join(scratch, 'old.db');
    const db = new Database(old);
    db.exec(OLD_SCHEMA);
    db.prepare(
      "insert into sessions (session_id, display, uname, server, init_time, last_time) values (?, 51, 'alice', ?, datetime('now','localtime'), datetime('now','localtime'))",
    ).run(A, SRV);
    db.close();
    copyFileSync(old, box.dbPath);
    const first = box.admin(['--updatedb']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stdout,
      /0001 reference_schema: found in place, recorded\n.*0002 tekictrl_port: applied\n.*0003 tekidata_port: applied\n.*0004 row_checks: applied\n.*0005 used_ports_session_index: applied\n.*0006 farm_operations: applied\n.*schema version 6, journal mode wal/,
    );
    assert.match(box.admin(['--updatedb']).stdout, /0002 tekictrl_port: already applied/);
    assert.deepEqual(schemaShape(box.dbPath).columns, schemaShape(initial).columns);
    assert.match(inst.x2godb(['listsessionsroot_all']).stdout, new RegExp(`^\\|${A}\\|51\\|`));
    installReferenceDb(box.dbPath);
    assert.match(runReference('libx2go-server-db-sqlite3-wrapper', ['listsessionsroot_all']).stdout, new RegExp(`^\\|${A}\\|51\\|`));
  });
});

/** x2goserver's schema before telekinesis (4.0.x): sessions without the two telekinesis ports. */
const OLD_SCHEMA = `
create table sessions(session_id varchar(500) primary key, display integer not null, uname varchar(100) not null,
  server varchar(100) not null, client inet, status char(1) not null default 'R',
  init_time timestamp not null default CURRENT_TIMESTAMP, last_time timestamp not null default CURRENT_TIMESTAMP,
  cookie char(33), agent_pid int, gr_port int, sound_port int, fs_port int, unique(display));
create table messages(mess_id varchar(20) primary key, message text);
create table user_messages(mess_id varchar(20) not null, uname varchar(100) not null);
create table used_ports(server varchar(100) not null, session_id varchar(500) references sessions on delete cascade, port integer primary key);
create table mounts(session_id varchar(500) references sessions on delete restrict, path varchar(512) not null, client inet not null, primary key(path,client));
`;

/** Ours only (migration 0006), and SQLite's own table of AUTOINCREMENT counters, which the first of them brings. */
const FARM_TABLES = ['admin_requests', 'nodes', 'session_events', 'sqlite_sequence'];

/**
 * What makes two files interchangeable: tables, columns, indexes, foreign keys, trigger bodies,
 * of the reference's tables; farmTables says which of ours the file has beside them.
 */
function schemaShape(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    const tables = (db.prepare("select name from sqlite_master where type = 'table' order by name").pluck().all() as string[]).filter(
      (t) => !FARM_TABLES.includes(t),
    );
    return {
      farmTables: FARM_TABLES.filter(
        (t) => db.prepare("select 1 from sqlite_master where type = 'table' and name = ?").get(t) !== undefined,
      ),
      columns: tables.map((t) => [t, db.prepare('select * from pragma_table_info(?)').all(t)]),
      indexes: tables.map((t) => [t, db.prepare('select name, "unique", origin, partial from pragma_index_list(?) order by name').all(t)]),
      foreignKeys: tables.map((t) => [t, db.prepare('select * from pragma_foreign_key_list(?)').all(t)]),
      triggers: (db.prepare("select name, sql from sqlite_master where type = 'trigger' order by name").raw().all() as string[][]).map(
        ([name, sql]) => [name, (sql ?? '').replace(/\s+/g, ' ')],
      ),
    };
  } finally {
    db.close();
  }
}
