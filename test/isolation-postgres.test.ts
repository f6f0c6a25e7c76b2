// Isolation on PostgreSQL: the shared suite through our programs, then the same question asked
// of the database directly. A user has their password in ~/.x2go/pgsqlpass and can run psql;
// whatever they send, PostgreSQL itself must keep bob's rows from alice.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type postgres from 'postgres';
import { NEEDS_ROOT, NEEDS_X2GOUSER, POSTGRES } from './support/backends.js';
import { connectAs, pgDump, userPassword } from './support/postgres.js';
import { hasCompiler } from './support/requirements.js';
import { A, B, isolationSuite } from './suites/isolation.js';

const needs = POSTGRES.needs(NEEDS_ROOT, [hasCompiler, '/usr/bin/cc'], NEEDS_X2GOUSER);
const DB = 'x2go_isolation';

type Expect = 'no rows' | 'denied' | 'refused value';

/** Statements alice sends against bob's rows (and the database's defences), with what must happen. */
const WRITES: [string, Expect][] = [
  [`update sessions set status = 'F' where session_id = '${B}'`, 'no rows'],
  [`update sessions_view set status = 'F' where session_id = '${B}'`, 'no rows'],
  [`update sessions set uname = 'bob' where session_id = '${A}'`, 'denied'],
  [`update sessions set creator_id = 'x2gouser_bob' where session_id = '${A}'`, 'denied'],
  [`update sessions set session_id = 'alice-99-1700000099_stDxfce_dp24' where session_id = '${A}'`, 'denied'],
  [`update sessions set server = 'elsewhere' where session_id = '${A}'`, 'denied'],
  [`update used_ports set port = 40000 where session_id = '${B}'`, 'denied'],
  [`update mounts set path = '/x' where session_id = '${B}'`, 'denied'],
  [`delete from sessions where session_id = '${B}'`, 'no rows'],
  [`delete from sessions_view where session_id = '${B}'`, 'no rows'],
  [`delete from used_ports where session_id = '${B}'`, 'no rows'],
  [`delete from used_ports where creator_id <> current_user`, 'no rows'],
  [`delete from mounts where session_id = '${B}'`, 'no rows'],
  [`delete from mounts_view where session_id = '${B}'`, 'no rows'],
  [`insert into sessions (session_id, display, uname, server) values ('bob-62-1700000062_stDxfce_dp24', 62, 'bob', 'x2go-test')`, 'denied'],
  [
    `insert into sessions (session_id, display, uname, server) values ('bob-62-1700000062_stDxfce_dp24', 62, 'alice', 'x2go-test')`,
    'denied',
  ],
  [
    `insert into sessions (session_id, display, uname, server, creator_id) values ('alice-63-1700000063_stDxfce_dp24', 63, 'alice', 'x2go-test', 'x2gouser_bob')`,
    'denied',
  ],
  // A desktop-sharing row for a viewer who has no database role (no test creates x2gouser_norole:
  // roles are cluster-wide, and another suite's carol may still have one).
  [
    `insert into sessions (session_id, display, uname, server) values ('norole-64-1700000064_stS1XSHADaliceXSHADPP51_dp24', 64, 'norole', 'x2go-test')`,
    'denied',
  ],
  [`insert into used_ports (server, session_id, port) values ('x2go-test', '${B}', 40000)`, 'denied'],
  [`insert into mounts (session_id, path, client) values ('${B}', '/x', '10.0.0.1')`, 'denied'],
  [
    `insert into sessions_view (session_id, display, uname, server) values ('alice-65-1700000065_stDxfce_dp24', 65, 'alice', 'x2go-test')`,
    'denied',
  ],
  [
    `insert into sessions (session_id, display, uname, server) values ('alice-66-1700000066_stDxfce_dp24; rm -rf /', 66, 'alice', 'x2go-test')`,
    'refused value',
  ],
  [
    `insert into sessions (session_id, display, uname, server) values ('alice-67-1700000067_stDxfce_dp24', 67, 'alice', 'x2go-test|evil')`,
    'refused value',
  ],
  [`truncate sessions`, 'denied'],
  [`create temporary table leak (x int)`, 'denied'],
  [`create function pg_temp.leak(text) returns boolean language sql as 'select true'`, 'denied'],
  [`create table public.leak (x int)`, 'denied'],
  [`alter table sessions disable row level security`, 'denied'],
  [`drop policy x2go_read on sessions`, 'denied'],
  [`set role x2gouser_bob`, 'denied'],
  [`set role x2godbuser`, 'denied'],
];

async function outcome(sql: postgres.Sql, statement: string): Promise<string> {
  try {
    const r = await sql.unsafe(statement);
    return r.count === 0 ? 'no rows' : `${r.count} rows`;
  } catch (err) {
    const code = String((err as { code?: unknown }).code);
    if (code === '42501' || code === '42809') return 'denied';
    if (code === '23514' || code === '22P02') return 'refused value';
    return `error ${code}: ${(err as Error).message}`;
  }
}

isolationSuite(POSTGRES, needs, DB, () => {
  test("raw SQL as x2gouser_alice reads none of bob's identities: sessions, ports, mounts, views", async () => {
    const sql = connectAs('x2gouser_alice', userPassword('alice'), DB);
    try {
      const seen: unknown[] = [];
      for (const relation of ['sessions', 'used_ports', 'mounts', 'sessions_view', 'mounts_view']) {
        const rows = await sql.unsafe(`select * from ${relation}`);
        assert.ok(rows.length > 0, `${relation}: alice sees her own rows`);
        seen.push(...rows);
      }
      assert.deepEqual(Object.keys((await sql`select * from servers_view`)[0] ?? {}), ['server', 'display', 'status']);
      assert.deepEqual(Object.keys((await sql`select * from ports_view`)[0] ?? {}), ['server', 'port']);
      assert.equal((await sql`select * from ports_view`).length, 6, 'every port in use is visible, without its session');
      // Rows alice made for bob (desktop sharing) are hers; nothing bob made shows.
      const text = JSON.stringify(seen);
      for (const secret of [B, 'x2gouser_bob', '/tmp/.x2go-bob', '30011']) assert.ok(!text.includes(secret), secret);
      for (const relation of ['messages', 'user_messages', 'x2go_schema_migrations']) {
        assert.equal(await outcome(sql, `select * from ${relation}`), 'denied', relation);
      }
    } finally {
      await sql.end();
    }
  });

  test(`raw SQL as x2gouser_alice: ${WRITES.length} writes against bob's rows and the defences fail`, async () => {
    const before = await pgDump(DB);
    const sql = connectAs('x2gouser_alice', userPassword('alice'), DB);
    try {
      for (const [statement, expected] of WRITES) assert.equal(await outcome(sql, statement), expected, statement);
    } finally {
      await sql.end();
    }
    assert.equal(await pgDump(DB), before);
  });
});
