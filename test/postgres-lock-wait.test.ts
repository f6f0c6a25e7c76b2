// A helper process on PostgreSQL whose statement waits for a lock (another login of the same
// user holding the per-user quota row, as in a login storm) waits for it: the connect timeout
// counts the server's silence while connecting only. Before, a wait longer than the connect
// timeout cut the connection ("the connection to PostgreSQL ... was lost"), and a storm of 64
// starters without the service lost about one login in ten.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CONNECT_TIMEOUT_S } from '../src/backends/postgres/connection.js';
import type { Account } from '../src/system/accounts.js';
import { createPgSandbox, ensurePostgres, hasPostgres, superuser, type PgSandbox } from './support/postgres.js';
import { isRoot, requires } from './support/requirements.js';
import { DIST } from './support/sandbox.js';
import { ensureUser, runAsync } from './support/system.js';

const needs = requires([isRoot, 'root'], [hasPostgres, 'PostgreSQL (apt-get install postgresql)']);
const DB = 'x2go_lock_wait';
const SRV = 'x2go-test';
/** Longer than the connect timeout: the wait that used to cut the connection. */
const HOLD_MS = (CONNECT_TIMEOUT_S + 2) * 1000;

describe('PostgreSQL: a statement waiting for a lock is not taken for an unreachable server', needs.options, () => {
  let box: PgSandbox;
  let alice: Account;

  before(() => {
    needs.check();
    ensurePostgres();
    alice = ensureUser('alice');
    box = createPgSandbox(DB);
    assert.equal(box.admin(['--createdb', '--force']).code, 0);
    assert.equal(box.admin(['--adduser', 'alice']).code, 0);
  });
  after(async () => {
    await box?.drop();
  });

  test(`alice's insert waits ${HOLD_MS / 1000} s for her quota row, held by another transaction, then succeeds`, async () => {
    const sql = superuser(DB);
    try {
      const holding = sql.begin(async (tx) => {
        await tx`insert into x2go_quota_locks (holder) values ('x2gouser_alice') on conflict (holder) do update set holder = excluded.holder`;
        await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
      });
      // The row is held before alice starts.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const started = Date.now();
      const r = await runAsync(
        process.execPath,
        [join(DIST, 'helpers', 'x2goinsertsession'), '51', SRV, 'alice-51-1700000051_stDxfce_dp24'],
        {
          as: alice,
          env: { X2GO_CONFIG_DIR: box.configDir },
        },
      );
      await holding;
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'inserted', '']);
      assert.ok(Date.now() - started >= HOLD_MS - 1000, 'alice did not wait for the lock');
    } finally {
      await sql.end();
    }
  });
});
