// Issue 9, hole 3: one user took every port and display (four loops of x2goreservesession:
// 65,519 ports and 4,096 sessions in 36 s), and nobody else could log in. Now each user holds at
// most [quota] sessions_per_user and ports_per_user, checked in the inserting transaction, on
// every path that creates a session or a port. As real users through the setgid launcher, on
// both backends; on PostgreSQL half the squatters go through x2gosessiond (pooled connections,
// SET LOCAL ROLE) and half connect themselves, at the same time.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Account } from '../src/system/accounts.js';
import { BACKENDS, NEEDS_ROOT, NEEDS_X2GOUSER, type BackendKind, type TestDatabase } from './support/backends.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { hasCompiler } from './support/requirements.js';
import { DIST, setQuota } from './support/sandbox.js';
import { ensureUser, runAsync, type Result } from './support/system.js';

const SERVER = 'vm';
const QUOTA_DB = 'x2go_quota';

interface Holdings {
  sessions: number;
  ports: number;
}

/** Whether half the callers go through a resident service (pooled connections, SET LOCAL ROLE). */
const HALF_THROUGH_SERVICE: Record<BackendKind, boolean> = { sqlite: false, postgres: true };

/** Ports stored in a user's name: on PostgreSQL the rows say who created them. */
const HELD_PORTS: Record<BackendKind, string> = {
  sqlite:
    "select count(*) as n from used_ports where session_id in (select session_id from sessions where uname = ? and session_id not like '%XSHAD%')",
  postgres: "select count(*) as n from used_ports where creator_id = 'x2gouser_' || ?",
};

/** Sessions and ports stored in a user's name (not desktop-sharing rows). */
async function held(box: TestDatabase, user: string): Promise<Holdings> {
  const [sessions] = await box.query<{ n: unknown }>(
    "select count(*) as n from sessions where uname = ? and session_id not like '%XSHAD%'",
    [user],
  );
  const [ports] = await box.query<{ n: unknown }>(HELD_PORTS[box.backend.kind], [user]);
  return { sessions: Number(sessions?.n), ports: Number(ports?.n) };
}

/** Root's purge of every row. */
async function clear(box: TestDatabase): Promise<void> {
  for (const table of ['mounts', 'used_ports', 'sessions']) await box.query(`delete from ${table}`);
}

for (const backend of BACKENDS) {
  const needs = backend.needs(NEEDS_ROOT, [hasCompiler, '/usr/bin/cc'], NEEDS_X2GOUSER);
  const throughService = HALF_THROUGH_SERVICE[backend.kind];
  describe(`per-user quotas (${backend.name})`, needs.options, () => {
    let box: TestDatabase;
    let inst: Installed;
    let alice: Account;
    let bob: Account;

    before(async () => {
      needs.check();
      alice = ensureUser('alice');
      bob = ensureUser('bob');
      box = await backend.createDatabase({ database: QUOTA_DB, users: ['alice', 'bob'], serviceLogin: throughService });
      inst = installLauncher(box, { service: throughService });
    });
    after(async () => {
      await inst?.service?.stop();
      if (box) await box.drop();
    });

    /** A helper as `user`: through the launcher, or (second half on PostgreSQL) in its own process with its own connection. */
    const call = (name: string, args: string[], user: Account, direct = false): Promise<Result> =>
      direct
        ? runAsync(process.execPath, [join(DIST, 'helpers', name), ...args], { as: user, env: { X2GO_CONFIG_DIR: box.configDir } })
        : inst.helperAsync(name, args, user);

    /** `loops` squatters at once, each calling `times` in a row; every result. */
    async function squat(
      loops: number,
      times: number,
      make: (loop: number, i: number) => [string, string[]],
      user: Account,
    ): Promise<Result[]> {
      const results = await Promise.all(
        Array.from({ length: loops }, async (_, loop) => {
          const out: Result[] = [];
          for (let i = 0; i < times; i++) {
            const [name, args] = make(loop, i);
            out.push(await call(name, args, user, throughService && loop % 2 === 1));
          }
          return out;
        }),
      );
      return results.flat();
    }

    test('the squatting loop stops at the default quota (100 ports), and bob logs in afterwards', async () => {
      const results = await squat(4, 10, () => ['x2goreservesession', [SERVER, '_stDsquat_dp24', '10', '16', '1']], alice);
      const ok = results.filter((r) => r.code === 0);
      const refused = results.filter((r) => r.code !== 0);
      // 16 ports a session: the 7th would make 112.
      assert.equal(ok.length, 6, refused[0]?.stderr);
      for (const r of refused) {
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stdout, '');
        assert.match(
          r.stderr,
          /^x2goreservesession: alice holds 96 ports and asks for 16 more, and 100 is the limit per user; .*ports_per_user= in \[quota\] of \S+x2gosql\/sql\n$/,
        );
      }
      assert.deepEqual(await held(box, 'alice'), { sessions: 6, ports: 96 });
      const login = await call('x2goreservesession', [SERVER, '_stDxfce_dp24', '50', '3', '30000'], bob);
      assert.equal(login.code, 0, login.stderr);
      assert.match(login.stdout, /^bob-50-\d+_stDxfce_dp24 50 30000 30001 30002\n$/);
    });

    test('concurrent creations on every path never exceed sessions_per_user; desktop sharing counts against the sharer, not the viewer', async () => {
      await clear(box);
      setQuota(box.configDir, 'sessions_per_user=5\nports_per_user=12\n');
      // Alice shares her desktop with bob three times: stored in bob's name, counted as alice's.
      for (let i = 0; i < 3; i++) {
        const sid = `bob-${70 + i}-170000007${i}_stS1XSHADaliceXSHADPP51_dp24`;
        const r = await call('x2goinsertshadowsession', [String(70 + i), SERVER, sid, 'bob'], alice);
        assert.equal(r.stdout, 'inserted', r.stderr);
      }
      // Bob still has all five of his own.
      const bobs = await squat(
        1,
        6,
        (_, i) => ['x2goinsertsession', [String(80 + i), SERVER, `bob-${80 + i}-1700000080_stDxfce_dp24`]],
        bob,
      );
      assert.deepEqual(
        bobs.map((r) => r.code),
        [0, 0, 0, 0, 0, 1],
        bobs.map((r) => r.stderr).join(''),
      );
      assert.match(
        bobs[5]?.stderr ?? '',
        /^x2goinsertsession: bob holds 5 sessions, and 5 is the limit per user; .*sessions_per_user= in \[quota\]/,
      );
      // Alice, from four places at once, by reservation and by insertsession: two more, no more.
      const alices = await squat(
        4,
        3,
        (loop, i) =>
          i % 2 === 0
            ? ['x2goreservesession', [SERVER, `_stDloop${loop}x${i}_dp24`, '20', '1', '31000']]
            : ['x2goinsertsession', [String(40 + loop * 3 + i), SERVER, `alice-${40 + loop * 3 + i}-1700000040_stDxfce_dp24`]],
        alice,
      );
      assert.equal(alices.filter((r) => r.code === 0).length, 2, alices.map((r) => r.stderr).join(''));
      for (const r of alices.filter((x) => x.code !== 0)) assert.match(r.stderr, /alice holds 5 sessions, and 5 is the limit per user/);
      assert.equal((await held(box, 'alice')).sessions, 2);
      // A shared desktop is one more session for alice: refused too.
      const share = await call('x2goinsertshadowsession', ['79', SERVER, 'bob-79-1700000079_stS1XSHADaliceXSHADPP51_dp24', 'bob'], alice);
      assert.equal(share.code, 1, share.stderr);
      assert.match(share.stderr, /alice holds 5 sessions/);
    });

    test('ports by x2goinsertport stop at ports_per_user, concurrently', async () => {
      await clear(box);
      setQuota(box.configDir, 'sessions_per_user=5\nports_per_user=12\n');
      const sids = [0, 1].map((i) => `alice-${60 + i}-1700000060_stDxfce_dp24`);
      for (const [i, sid] of sids.entries()) assert.equal((await call('x2goinsertsession', [String(60 + i), SERVER, sid], alice)).code, 0);
      const results = await squat(
        4,
        8,
        (loop, i) => ['x2goinsertport', [SERVER, sids[loop % 2] ?? '', String(32000 + loop * 100 + i)]],
        alice,
      );
      assert.equal(results.filter((r) => r.code === 0).length, 12);
      for (const r of results.filter((x) => x.code !== 0))
        assert.match(r.stderr, /^x2goinsertport: alice holds 12 ports, and 12 is the limit per user/);
      assert.deepEqual(await held(box, 'alice'), { sessions: 2, ports: 12 });
    });
  });
}
