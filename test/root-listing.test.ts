// Issue 9, second layer: rows root must never print. x2gocleansessions passes listed session ids
// and user names to `su ... -c`, so a row planted directly in the database (uname=root,
// session_id='x;id>pwned;#') made root run a command. Root's listings now leave out every row
// that fails the CLI's validation, with one escaped line on stderr; and the SQLite file refuses
// such rows itself (migration 0004), while rows stored before it stay readable.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { POSTGRES, SQLITE, type TestDatabase } from './support/backends.js';
import { superuser } from './support/postgres.js';
import { backToVersion3, type Sandbox } from './support/sandbox.js';

const SRV = 'x2go-test';
const GOOD = 'alice-51-1700000051_stDxfce_dp24';
const PAYLOAD = 'x;id>pwned;#';
const ROOTS = 'alice-52-1700000052_stDxfce_dp24';

/** What a root listing printed: the session ids of its rows, and its stderr lines. */
function listed(r: { stdout: string; stderr: string; code: number }): { ids: string[]; stderr: string[] } {
  assert.equal(r.code, 0, r.stderr);
  return {
    ids: r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('|')[1] ?? ''),
    stderr: r.stderr.split('\n').filter(Boolean),
  };
}

function assertRootListingsRefuse(box: Sandbox): void {
  const runs: [string, { stdout: string; stderr: string; code: number }][] = [
    ['listsessionsroot_all', box.x2godb(['listsessionsroot_all'])],
    ['listsessionsroot', box.x2godb(['listsessionsroot', SRV])],
    ['x2golistsessions_sql', box.helper('x2golistsessions_sql', ['--all-servers'])],
    ['json', box.x2godb(['--json', 'listsessionsroot_all'])],
  ];
  for (const [name, r] of runs) {
    if (name === 'json') {
      assert.deepEqual(
        (JSON.parse(r.stdout) as { sessionId: string }[]).map((row) => row.sessionId),
        [GOOD],
      );
      continue;
    }
    const { ids, stderr } = listed(r);
    assert.deepEqual(ids, [GOOD], `${name} printed a planted row`);
    assert.equal(stderr.length, 2, r.stderr);
    assert.match(
      stderr.join('\n'),
      /: not listing a stored session row with a malformed session_id \(session_id x\\x3bid\\x3epwned\\x3b\\x23, uname root\)/,
    );
    assert.match(
      stderr.join('\n'),
      new RegExp(`: not listing a stored session row with a malformed uname \\(session_id ${ROOTS}, uname root\\)`),
    );
    // Nothing shell-dangerous reaches root's terminal or log raw.
    assert.doesNotMatch(r.stderr, /[;>#]/);
  }
}

const sqliteNeeds = SQLITE.needs();
describe('root listings and planted rows (SQLite)', sqliteNeeds.options, () => {
  let box: TestDatabase;
  before(async () => {
    sqliteNeeds.check();
    // A file from before the row checks (schema version 3, as our 0001-0003 or the reference make it).
    box = await SQLITE.createDatabase({ database: 'x2go_root_listing' });
    const db = new Database(box.dbPath);
    try {
      // Back to version 3: the file as it was before migration 0004.
      backToVersion3(db);
      const insert = db.prepare(
        "insert into sessions (session_id, display, uname, server, status, init_time, last_time) values (?, ?, ?, ?, 'R', datetime('now','localtime'), datetime('now','localtime'))",
      );
      insert.run(GOOD, 51, 'alice', SRV);
      insert.run(PAYLOAD, 53, 'root', SRV);
      insert.run(ROOTS, 52, 'root', SRV);
    } finally {
      db.close();
    }
  });
  after(async () => box?.drop());

  test('before the migration: planted rows are left out of every root listing, each with one escaped line', () => {
    assertRootListingsRefuse(box);
  });

  test('x2godbadmin --updatedb adds the checks and keeps the rows; root listings still refuse them', () => {
    const r = box.admin(['--updatedb']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /migration 0004 row_checks: applied\n.*\n.*\n.*schema version 6/);
    const db = new Database(box.dbPath, { readonly: true });
    try {
      assert.equal(db.prepare('select count(*) from sessions').pluck().get(), 3, 'rows stored before are kept');
    } finally {
      db.close();
    }
    assertRootListingsRefuse(box);
  });

  test('after the migration a direct writer cannot plant such rows', () => {
    const db = new Database(box.dbPath);
    try {
      const insert = db.prepare('insert into sessions (session_id, display, uname, server) values (?, ?, ?, ?)');
      assert.throws(() => insert.run('y;id>pwned;#', 60, 'root', SRV), /x2go_session_id_format/);
      assert.throws(() => insert.run('alice-61-1700000061_stDxfce_dp24', 61, 'root', SRV), /x2go_uname_format/);
      assert.throws(() => insert.run('alice-62-1700000062_stDxfce_dp24', 62, 'alice', 's;rv'), /x2go_server_format/);
      assert.throws(() => db.prepare("update sessions set status = 'X;id' where session_id = ?").run(GOOD), /x2go_status/);
      assert.throws(() => db.prepare("update sessions set client = '$(id)' where session_id = ?").run(GOOD), /x2go_client_format/);
      assert.throws(() => db.prepare("update sessions set cookie = 'a b' where session_id = ?").run(GOOD), /x2go_cookie_format/);
      // What X2Go writes passes, a desktop-sharing row in the viewer's name included.
      insert.run('bob-71-1700000071_stS1XSHADaliceXSHADPP51_dp24', 71, 'bob', SRV);
    } finally {
      db.close();
    }
  });
});

const pgNeeds = POSTGRES.needs();
describe('root listings and planted rows (PostgreSQL)', pgNeeds.options, () => {
  let box: TestDatabase;
  before(async () => {
    pgNeeds.check();
    box = await POSTGRES.createDatabase({ database: 'x2go_root_listing' });
    const sql = superuser(box.database);
    try {
      await sql`insert into sessions (session_id, display, uname, server) values (${GOOD}, 51, 'alice', ${SRV})`;
      // The CHECK constraints allow uname=root on any id (row-level security keeps users from
      // writing it); a row from before them (NOT VALID) can hold anything.
      await sql`insert into sessions (session_id, display, uname, server) values (${ROOTS}, 52, 'root', ${SRV})`;
      await sql.begin(async (tx) => {
        await tx`alter table sessions drop constraint x2go_session_id_format`;
        await tx`insert into sessions (session_id, display, uname, server) values (${PAYLOAD}, 53, 'root', ${SRV})`;
        await tx`alter table sessions add constraint x2go_session_id_format check (x2go_is_session_id(session_id)) not valid`;
      });
    } finally {
      await sql.end();
    }
  });
  after(async () => box?.drop());

  test('planted rows are left out of every root listing, each with one escaped line', () => {
    assertRootListingsRefuse(box);
  });
});
