// The atomic reservation under load, on both backends: 64 logins at once get 64 different
// displays and 192 different ports; logins killed at random moments (SIGKILL, mid-transaction
// for some) leave no session without its ports and no port without its session.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Account } from '../src/system/accounts.js';
import { BACKENDS, type BackendKind, type TestDatabase } from './support/backends.js';
import { takeCensus } from './support/census.js';
import { isRoot } from './support/requirements.js';
import { DIST, LOAD_TEST_QUOTA, setQuota } from './support/sandbox.js';
import { ensureUser, runAsync, type Result } from './support/system.js';

const STARTERS = 64;

const RESERVATION_DB = 'x2go_reservation';

/**
 * Who reserves: as root, alice where a user needs a role of their own (PostgreSQL; root would
 * connect as x2godbuser), else whoever runs the tests.
 */
const AS_ALICE: Record<BackendKind, boolean> = { sqlite: false, postgres: true };

for (const backend of BACKENDS) {
  const needs = backend.needs();
  describe(`reservation under load (${backend.name})`, needs.options, () => {
    let box: TestDatabase;
    // The caller: alice where there are real users (as root), else whoever runs the tests.
    let as: Account | undefined;
    const reserve = (suffix = '_stDxfce_dp24'): [string, string[]] => [
      join(DIST, 'helpers', 'x2goreservesession'),
      ['x2go-test', suffix, '50', '3', '30000'],
    ];

    before(async () => {
      needs.check();
      box = await backend.createDatabase({ database: RESERVATION_DB, users: ['alice'] });
      // A load test: alice makes 104 sessions, more than the default per-user quota (test/quota.test.ts).
      setQuota(box.configDir, LOAD_TEST_QUOTA);
      as = isRoot && AS_ALICE[backend.kind] ? ensureUser('alice') : undefined;
    });
    after(async () => box?.drop());

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
      assert.deepEqual(
        [...displays].sort((a, b) => a - b),
        Array.from({ length: STARTERS }, (_, i) => 50 + i),
        'the lowest free ones',
      );
      const census = await takeCensus(box);
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
      const census = await takeCensus(box);
      assert.equal(census.orphans, 0, 'ports without a session');
      for (const [sid, , n] of census.sessions) assert.equal(n, 3, `${sid} has ${n} ports`);
      assert.equal(new Set(census.sessions.map(([, d]) => d)).size, census.sessions.length);
    });
  });
}
