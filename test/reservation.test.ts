// The atomic reservation under load, on both backends: 64 logins at once get 64 different
// displays and 192 different ports; logins killed at random moments (SIGKILL, mid-transaction
// for some) leave no session without its ports and no port without its session.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { Account } from '../src/system/accounts.js';
import { createPgSandbox, ensurePostgres, hasPostgres, superuser, type PgSandbox } from './support/postgres.js';
import { isRoot, requires } from './support/requirements.js';
import { createSandbox, DIST, LOAD_TEST_QUOTA, setQuota, type Sandbox } from './support/sandbox.js';
import { ensureUser, runAsync, type Result } from './support/system.js';

const STARTERS = 64;

interface Backend {
  name: string;
  needs: ReturnType<typeof requires>;
  setup(): Promise<Sandbox>;
  /** [session_id, ports] of every session, and every port whose session is missing. */
  census(box: Sandbox): Promise<{ sessions: [string, number, number][]; orphans: number; ports: number[] }>;
  teardown(box: Sandbox): Promise<void>;
}

const backends: Backend[] = [
  {
    name: 'SQLite',
    needs: requires(),
    setup: async () => {
      const box = createSandbox();
      assert.equal(box.admin(['--createdb']).code, 0);
      return box;
    },
    census: async (box) => {
      const db = new Database(box.dbPath, { readonly: true });
      try {
        return {
          sessions: db.prepare('select session_id, display, (select count(*) from used_ports p where p.session_id = s.session_id) from sessions s').raw().all() as [string, number, number][],
          orphans: db.prepare('select count(*) from used_ports where session_id not in (select session_id from sessions)').pluck().get() as number,
          ports: db.prepare('select port from used_ports').pluck().all() as number[],
        };
      } finally {
        db.close();
      }
    },
    teardown: async (box) => box.remove(),
  },
  {
    name: 'PostgreSQL',
    needs: requires([isRoot, 'root'], [hasPostgres, 'PostgreSQL (apt-get install postgresql)']),
    setup: async () => {
      ensurePostgres();
      ensureUser('alice');
      const box = createPgSandbox('x2go_reservation');
      for (const args of [['--createdb', '--force'], ['--adduser', 'alice']]) assert.equal(box.admin(args).code, 0);
      // A load test: alice makes 104 sessions, more than the default per-user quota (test/quota.test.ts).
      setQuota(box.configDir, LOAD_TEST_QUOTA);
      return box;
    },
    census: async (box) => {
      const sql = superuser((box as PgSandbox).database);
      try {
        const sessions = (await sql`select session_id, display, (select count(*) from used_ports p where p.session_id = s.session_id)::int from sessions s`.values()) as unknown as [string, number, number][];
        const [orphans] = await sql`select count(*)::int as n from used_ports where session_id not in (select session_id from sessions)`;
        const ports = (await sql`select port from used_ports`.values()).map((r) => r[0] as number);
        return { sessions, orphans: Number(orphans?.n ?? 0), ports };
      } finally {
        await sql.end();
      }
    },
    teardown: (box) => (box as PgSandbox).drop(),
  },
];

for (const backend of backends) {
  describe(`reservation under load (${backend.name})`, backend.needs.options, () => {
    let box: Sandbox;
    // The caller: alice where there are real users (as root), else whoever runs the tests.
    let as: Account | undefined;
    const reserve = (suffix = '_stDxfce_dp24'): [string, string[]] => [
      join(DIST, 'helpers', 'x2goreservesession'),
      ['x2go-test', suffix, '50', '3', '30000'],
    ];

    before(async () => {
      backend.needs.check();
      box = await backend.setup();
      as = isRoot && backend.name === 'PostgreSQL' ? ensureUser('alice') : undefined;
    });
    after(async () => box && backend.teardown(box));

    test(`${STARTERS} reservations at once: all succeed, no display or port twice`, async () => {
      const results = await Promise.all(
        Array.from({ length: STARTERS }, () => {
          const [file, args] = reserve();
          return runAsync(process.execPath, [file, ...args], { ...(as ? { as } : {}), env: { X2GO_CONFIG_DIR: box.configDir } });
        }),
      );
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      const lines = results.map((r: Result) => r.stdout.split(' '));
      const displays = lines.map((l) => Number(l[1]));
      const ports = lines.flatMap((l) => l.slice(2).map(Number));
      assert.equal(new Set(displays).size, STARTERS);
      assert.equal(new Set(ports).size, STARTERS * 3);
      assert.deepEqual([...displays].sort((a, b) => a - b), Array.from({ length: STARTERS }, (_, i) => 50 + i), 'the lowest free ones');
      const census = await backend.census(box);
      assert.equal(census.sessions.length, STARTERS);
      assert.ok(census.sessions.every(([, , n]) => n === 3));
      assert.equal(new Set(census.ports).size, census.ports.length);
    });

    test('starters killed at random moments leave no half-made session', async () => {
      const kills = Array.from({ length: 40 }, (_, i) => {
        const [file, args] = reserve(`_stDkill${i}_dp24`);
        return new Promise<void>((resolve) => {
          const child = spawn(process.execPath, [file, ...args], {
            env: { X2GO_CONFIG_DIR: box.configDir, PATH: '/usr/bin:/bin' },
            stdio: 'ignore',
            ...(as ? { uid: as.uid, gid: as.gid } : {}),
          });
          const timer = setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 60));
          child.on('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      });
      await Promise.all(kills);
      const census = await backend.census(box);
      assert.equal(census.orphans, 0, 'ports without a session');
      for (const [sid, , n] of census.sessions) assert.equal(n, 3, `${sid} has ${n} ports`);
      assert.equal(new Set(census.sessions.map(([, d]) => d)).size, census.sessions.length);
    });
  });
}
