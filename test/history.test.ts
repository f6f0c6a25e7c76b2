// Issue 12, item 6: the history of sessions. On both backends, as real users through the setgid
// launcher: the README's session lifecycle writes exactly its events, in order, with who, where
// and the clients; a user reads only their own events (on PostgreSQL also when connecting as
// their own role, as psql with ~/.x2go/pgsqlpass would); and writers killed at random moments,
// or (PostgreSQL) while their transaction waits on a lock after writing the event, never leave
// a change without its event or an event without its change.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Account } from '../src/system/accounts.js';
import { BACKENDS, NEEDS_ROOT, NEEDS_X2GOUSER, type TestDatabase } from './support/backends.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { connectAs, superuser, userPassword } from './support/postgres.js';
import { hasCompiler } from './support/requirements.js';
import { DIST, LOAD_TEST_QUOTA, setQuota } from './support/sandbox.js';
import { startService } from './support/service.js';
import { ensureUser } from './support/system.js';

const SERVER = 'vm';
const HISTORY_DB = 'x2go_history';
const SID = 'alice-51-1764342000_stDxfce_dp24';
const BOBS = 'bob-52-1764342000_stDxfce_dp24';
const NODE = hostname();

interface EventRow {
  event: string;
  session_id: string;
  uname: string;
  server: string;
  client: string | null;
  by_uid: unknown;
  node: string | null;
}

async function events(box: TestDatabase, where = '', params: unknown[] = []): Promise<EventRow[]> {
  return box.query<EventRow>(
    `select event, session_id, uname, server, client, by_uid, node from session_events ${where} order by id`,
    params,
  );
}

const brief = (rows: EventRow[]) =>
  rows.map((r) => [r.event, r.session_id, r.uname, r.server, r.client ?? '', Number(r.by_uid), r.node ?? ''].join(' '));

for (const backend of BACKENDS) {
  const needs = backend.needs(NEEDS_ROOT, [hasCompiler, '/usr/bin/cc'], NEEDS_X2GOUSER);
  describe(`session history (${backend.name})`, needs.options, () => {
    let box: TestDatabase;
    let inst: Installed;
    let alice: Account;
    let bob: Account;

    before(async () => {
      needs.check();
      alice = ensureUser('alice');
      bob = ensureUser('bob');
      // The service login: the retention test starts a resident service.
      box = await backend.createDatabase({ database: HISTORY_DB, users: ['alice', 'bob'], serviceLogin: backend.kind === 'postgres' });
      setQuota(box.configDir, LOAD_TEST_QUOTA);
      inst = installLauncher(box);
    });
    after(async () => {
      await inst?.service?.stop();
      if (box) await box.drop();
    });

    const ok = (name: string, args: string[], user?: Account) => {
      const r = user ? inst.helper(name, args, user) : inst.x2godb([name, ...args]);
      assert.equal(r.code, 0, `${name} ${args.join(' ')}: ${r.stderr}`);
      return r;
    };

    test("the README's lifecycle writes exactly its events, in order, in the same transactions", async () => {
      // As the quick start walks it (scripts/demo.mjs): start, ports, agent up, suspend, resume
      // from another client, terminate, purge (root).
      ok('x2goinsertsession', ['51', SERVER, SID], alice);
      for (const port of ['30001', '30002', '30003']) ok('x2goinsertport', [SERVER, SID, port], alice);
      ok(
        'x2gocreatesession',
        [SID, 'a3f0c3e1b2d4f6a8c0e2b4d6f8a0c2e4', '4242', '192.0.2.10', '30001', '30002', '30003', '-1', '-1'],
        alice,
      );
      ok('x2gochangestatus', ['S', SID], alice);
      ok('x2goresume', ['192.0.2.20', SID, '30001', '30002', '30003'], alice);
      ok('x2gochangestatus', ['F', SID], alice);
      ok('rmsessionsroot', [SID]);
      const a = alice.uid;
      assert.deepEqual(brief(await events(box)), [
        `created ${SID} alice ${SERVER}  ${a} ${NODE}`,
        `started ${SID} alice ${SERVER} 192.0.2.10 ${a} ${NODE}`,
        `suspended ${SID} alice ${SERVER}  ${a} ${NODE}`,
        `resumed ${SID} alice ${SERVER} 192.0.2.20 ${a} ${NODE}`,
        `finished ${SID} alice ${SERVER}  ${a} ${NODE}`,
        `purged ${SID} alice ${SERVER}  0 ${NODE}`,
      ]);
      // A reservation (the patched x2gostartagent's one step) is a creation too; refused changes write nothing.
      const reserved = ok('x2goreservesession', [SERVER, '_stDxfce_dp24', '60', '3', '31000'], bob).stdout.split(' ')[0] ?? '';
      assert.equal(inst.helper('x2gochangestatus', ['S', 'alice-99-1764342000_stDxfce_dp24'], alice).code, 1);
      assert.equal(inst.helper('x2gochangestatus', ['S', reserved], alice).code, 2);
      assert.deepEqual(brief((await events(box)).slice(6)), [`created ${reserved} bob ${SERVER}  ${bob.uid} ${NODE}`]);
    });

    test('x2godb history and x2go-sessiondb history: users read their own events, root everyone’s', async () => {
      ok('x2goinsertsession', ['52', SERVER, BOBS], bob);
      const lines = (r: { stdout: string }) => (r.stdout === '' ? [] : r.stdout.split('\n'));
      const mine = inst.x2godb(['history'], alice);
      assert.equal(mine.code, 0, mine.stderr);
      assert.deepEqual(
        lines(mine).map((l) => l.split('|')[1]),
        ['created', 'started', 'suspended', 'resumed', 'finished', 'purged'],
      );
      assert.ok(lines(mine).every((l) => l.split('|')[3] === 'alice'));
      const bobs = inst.x2godb(['--json', 'history'], bob);
      assert.equal(bobs.code, 0, bobs.stderr);
      const parsed = JSON.parse(bobs.stdout) as { uname: string; event: string }[];
      assert.deepEqual(
        parsed.map((e) => `${e.uname} ${e.event}`),
        ['bob created', 'bob created'],
      );
      // Asking for someone else's: refused, nothing printed.
      const nosy = inst.x2godb(['history', '--user', 'alice'], bob);
      assert.equal(nosy.code, 3);
      assert.equal(nosy.stdout, '');
      assert.match(nosy.stderr, /^x2godb: bob may read only their own history, not alice's\n$/);
      // Root: everyone's, or one user's, one server's, since a moment.
      assert.equal(lines(inst.x2godb(['history'])).length, 8);
      assert.equal(lines(inst.x2godb(['history', '--user', 'bob', '--server', SERVER])).length, 2);
      assert.equal(lines(inst.x2godb(['history', '--server', 'elsewhere'])).length, 0);
      assert.equal(lines(inst.x2godb(['history', '--since', '2999-01-01'])).length, 0);
      assert.equal(lines(inst.x2godb(['history', '--since', '1h'])).length, 8);
      // Validated at the edge: one line, exit 2.
      for (const bad of [
        ['--since', 'yesterday'],
        ['--since', '2026-02-31'],
        ['--user', 'a;b'],
        ['--server', 'a|b'],
        ['--bogus', 'x'],
        ['--user'],
      ]) {
        const r = inst.x2godb(['history', ...bad], alice);
        assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, /^x2godb: [^\n]+\n$/);
      }
      // x2go-sessiondb history goes through the launcher beside it, as the user.
      const tool = join(inst.prefix, 'bin', 'x2go-sessiondb');
      const { run } = await import('./support/system.js');
      const viaTool = run(tool, ['history', '--json'], { as: bob });
      assert.equal(viaTool.code, 0, viaTool.stderr);
      assert.deepEqual(JSON.parse(viaTool.stdout), parsed);
    });

    test('retention: x2gosessiond removes events older than history_days; prunehistory is root only', async () => {
      // Age the first six events (alice's lifecycle) by 100 days.
      const aged = backend.kind === 'postgres' ? "at - interval '100 days'" : "strftime('%Y-%m-%d %H:%M:%f', at, '-100 days')";
      await box.query(`update session_events set at = ${aged} where uname = 'alice'`);
      const refused = inst.x2godb(['prunehistory', '90'], alice);
      assert.equal(refused.code, 3, refused.stderr);
      const kept = inst.x2godb(['prunehistory', '101']);
      assert.equal(kept.code, 0, kept.stderr);
      assert.equal(kept.stdout, '0');
      // The resident service prunes by [sessiond] history_days= of x2goserver.conf when it starts (then hourly).
      const sqlFile = join(box.configDir, 'x2goserver.conf');
      const sqlText = readFileSync(sqlFile, 'utf8');
      writeFileSync(sqlFile, `${sqlText}\n[sessiond]\nhistory_days=0\n`);
      const broken = inst.x2godb(['history']);
      assert.equal(broken.code, 4);
      assert.match(
        broken.stderr,
        /^x2godb: \S+x2goserver\.conf: \[sessiond\] history_days=0 is not a whole number of days from 1 to 36500\n$/,
      );
      writeFileSync(sqlFile, `${sqlText}\n[sessiond]\nhistory_days=90\n`);
      const service = await startService(box.configDir);
      try {
        for (let waited = 0; (await events(box)).length > 2; waited += 100) {
          assert.ok(waited < 15_000, `the service did not prune: ${service.log()}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        await service.stop();
      }
      assert.deepEqual(
        (await events(box)).map((e) => e.uname),
        ['bob', 'bob'],
      );
    });

    test('writers killed at random moments leave no change without its event', async () => {
      const direct = backend.kind === 'postgres';
      // Processes of their own (the launcher execs Node, so the pid is the writer's).
      const spawnKilled = (args: string[], name: string, user: Account | undefined, within: number) =>
        new Promise<void>((resolve) => {
          const file = direct ? join(DIST, 'helpers', name) : join(inst.prefix, 'helpers', name);
          const child = spawn(direct ? process.execPath : file, direct ? [file, ...args] : args, {
            env: { X2GO_CONFIG_DIR: box.configDir, PATH: '/usr/bin:/bin' },
            stdio: 'ignore',
            ...(user ? { uid: user.uid, gid: user.gid } : {}),
          });
          const timer = setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * within));
          child.on('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      const sids = Array.from({ length: 16 }, (_, i) => `alice-${70 + i}-1764342070_stDxfce_dp24`);
      for (const [i, sid] of sids.entries()) ok('x2goinsertsession', [String(70 + i), SERVER, sid], alice);
      await Promise.all([
        ...sids.map((sid) =>
          spawnKilled([sid, 'c0ffee', '4242', '192.0.2.30', '30001', '30002', '30003', '-1', '-1'], 'x2gocreatesession', alice, 250),
        ),
        ...Array.from({ length: 24 }, (_, i) =>
          spawnKilled([SERVER, `_stDkill${i}_dp24`, '100', '3', '40000'], 'x2goreservesession', alice, 250),
        ),
      ]);
      // Every session has its creation; every creation of a session not purged has its session.
      const rows = await box.query<{ session_id: string; cookie: string | null }>('select session_id, cookie from sessions');
      const created = new Set((await events(box, "where event = 'created'")).map((e) => e.session_id));
      const purged = new Set((await events(box, "where event = 'purged'")).map((e) => e.session_id));
      const stored = new Set(rows.map((r) => r.session_id));
      for (const sid of stored) assert.ok(created.has(sid), `${sid} without its created event`);
      for (const sid of created) assert.ok(stored.has(sid) || purged.has(sid), `created event of ${sid}, which was never stored`);
      // A start either happened with its event or neither.
      const started = new Set((await events(box, "where event = 'started'")).map((e) => e.session_id));
      let done = 0;
      for (const r of rows.filter((x) => sids.includes(x.session_id))) {
        const changed = r.cookie !== null && r.cookie.trim() === 'c0ffee';
        assert.equal(started.has(r.session_id), changed, `${r.session_id}: started ${changed} but event ${started.has(r.session_id)}`);
        if (changed) done++;
      }
      // Not a test of nothing: some got through, some did not (the sessions are many, the kills random).
      assert.ok(done > 0 || started.size === 0);
    });

    if (backend.kind === 'postgres') {
      test('a purge killed while its transaction waits on a lock, after writing the event, leaves both the session and no event', async () => {
        const sid = 'alice-90-1764342090_stDxfce_dp24';
        ok('x2goinsertsession', ['90', SERVER, sid], alice);
        const mounted = inst.x2godb(['insertmount', sid, '/home/alice/share', '192.0.2.30'], alice);
        assert.equal(mounted.code, 0, mounted.stderr);
        const sql = superuser(HISTORY_DB);
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        let locked!: () => void;
        const isLocked = new Promise<void>((r) => (locked = r));
        const holder = sql.begin(async (tx) => {
          await tx`select * from mounts where session_id = ${sid} for update`;
          locked();
          await held;
        });
        await isLocked;
        try {
          const child = spawn(process.execPath, [join(DIST, 'x2godb.cjs'), 'rmsessionsroot', sid], {
            env: { X2GO_CONFIG_DIR: box.configDir, PATH: '/usr/bin:/bin' },
            stdio: 'ignore',
          });
          // Wait until it is blocked on the row lock: its event is written, its deletes are not.
          for (let waited = 0; ; waited += 50) {
            // Through another connection: the holder's transaction keeps its own busy.
            const [w] = await box.query<{ n: unknown }>(
              "select count(*) as n from pg_stat_activity where datname = ? and wait_event_type = 'Lock' and query like 'delete from mounts%'",
              [HISTORY_DB],
            );
            if (Number(w?.n) > 0) break;
            assert.ok(waited < 10_000, 'the purge never waited on the lock');
            await new Promise((r) => setTimeout(r, 50));
          }
          const exited = new Promise((r) => child.on('exit', r));
          child.kill('SIGKILL');
          await exited;
        } finally {
          release();
          await holder;
          await sql.end();
        }
        // The server rolls the killed connection's transaction back.
        for (let waited = 0; ; waited += 50) {
          const [w] = await box.query<{ n: unknown }>(
            "select count(*) as n from pg_stat_activity where datname = ? and query like 'delete from mounts%' and state <> 'idle'",
            [HISTORY_DB],
          );
          if (Number(w?.n) === 0) break;
          assert.ok(waited < 10_000);
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal((await box.query('select 1 from sessions where session_id = ?', [sid])).length, 1);
        assert.deepEqual(
          (await events(box, 'where session_id = ?', [sid])).map((e) => e.event),
          ['created'],
        );
        ok('rmsessionsroot', [sid]);
        assert.deepEqual(
          (await events(box, 'where session_id = ?', [sid])).map((e) => e.event),
          ['created', 'purged'],
        );
      });

      test("as alice's own role (psql): only her events, and no event she could not cause", async () => {
        ok('x2goinsertsession', ['91', SERVER, 'alice-91-1764342091_stDxfce_dp24'], alice);
        const sql = connectAs('x2gouser_alice', userPassword('alice'), HISTORY_DB);
        try {
          const seen = await sql`select distinct uname from session_events`;
          assert.deepEqual(
            seen.map((r) => r.uname),
            ['alice'],
          );
          const denied = async (statement: string) => {
            await assert.rejects(sql.unsafe(statement), (err: { code?: string }) => err.code === '42501', statement);
          };
          // In bob's name, for bob's session, or a kind only root's programs write.
          await denied(`insert into session_events (session_id, uname, server, event) values ('${BOBS}', 'bob', '${SERVER}', 'finished')`);
          await denied(
            `insert into session_events (session_id, uname, server, event) values ('alice-91-1764342091_stDxfce_dp24', 'alice', '${SERVER}', 'cleaned')`,
          );
          await denied(
            `insert into session_events (session_id, uname, server, event, creator_id) values ('alice-91-1764342091_stDxfce_dp24', 'alice', '${SERVER}', 'created', 'x2gouser_bob')`,
          );
          await denied(`update session_events set event = 'created'`);
          await denied(`delete from session_events`);
          const [bobs] = await sql`select count(*)::int as n from session_events where uname = 'bob'`;
          assert.equal(Number(bobs?.n), 0);
        } finally {
          await sql.end();
        }
      });
    }
  });
}
