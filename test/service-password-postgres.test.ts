// x2gosessiond on PostgreSQL when the password of its role changes under it: by
// `x2godbadmin --createdb --force` (a new database and a new password for x2gosessiond), or by
// an administrator who edits x2gosql/x2gosessiond.password by hand. The running service must take the
// new password by itself: while the database is fine, no call may keep failing until a restart
// (the launcher does not fall back on exit 4, so a stuck service fails every login).

import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WRAPPER_NAME } from '../src/install/install-launcher.js';
import type { Account } from '../src/system/accounts.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { createPgSandbox, ensurePostgres, hasPostgres, superuser, type PgSandbox } from './support/postgres.js';
import { hasCompiler, isRoot, requires } from './support/requirements.js';
import type { RunningService } from './support/service.js';
import { ensureUser } from './support/system.js';

const needs = requires([isRoot, 'root'], [hasCompiler, '/usr/bin/cc'], [hasPostgres, 'PostgreSQL (apt-get install postgresql)']);
const DB = 'x2go_service_password';
const SRV = 'x2go-test';
const sid = (n: number) => `alice-${50 + n}-${1700000000 + n}_stDxfce_dp24`;

describe('x2gosessiond on PostgreSQL takes a new password by itself', needs.options, () => {
  let box: PgSandbox;
  let inst: Installed;
  let service: RunningService;
  let alice: Account;
  let passwordFile: string;

  before(() => {
    needs.check();
    ensurePostgres();
    alice = ensureUser('alice');
    box = createPgSandbox(DB);
    for (const args of [
      ['--createdb', '--force'],
      ['--adduser', 'alice'],
    ]) {
      const r = box.admin(args);
      assert.equal(r.code, 0, r.stderr);
    }
    inst = installLauncher(box, { service: true });
    service = inst.service as RunningService;
    passwordFile = join(box.configDir, 'x2gosql', 'x2gosessiond.password');
  });
  after(async () => {
    await service?.stop();
    await box?.drop();
  });

  /** As a restart of PostgreSQL would: every connection the service holds is dropped. */
  async function dropServiceConnections(): Promise<void> {
    const sql = superuser();
    try {
      await sql`select pg_terminate_backend(pid) from pg_stat_activity where usename = 'x2gosessiond'`;
    } finally {
      await sql.end();
    }
  }

  async function setServicePassword(password: string): Promise<void> {
    const sql = superuser();
    try {
      await sql.unsafe(`ALTER ROLE x2gosessiond PASSWORD '${password}'`);
    } finally {
      await sql.end();
    }
  }

  /** A call through the service as alice, which must have been answered by the service. */
  async function insertThroughService(n: number): Promise<void> {
    const before = await service.stats();
    const r = inst.helper('x2goinsertsession', [String(50 + n), SRV, sid(n)], alice);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'inserted', '']);
    const listed = inst.helper(WRAPPER_NAME, ['listsessions', SRV], alice);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`\\|${sid(n)}\\|${50 + n}\\|`));
    const after = await service.stats();
    assert.equal(after.requests - before.requests, 2, 'the service answered both calls');
    assert.equal(after.failed, before.failed);
    assert.equal(service.child.exitCode, null, 'the service was not restarted');
  }

  test('after x2godbadmin --createdb --force, the next call through the service succeeds', async () => {
    await insertThroughService(0);
    const old = readFileSync(passwordFile, 'utf8');
    const r = box.admin(['--createdb', '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(readFileSync(passwordFile, 'utf8'), old, '--createdb gave x2gosessiond a new password');
    await insertThroughService(1);
  });

  test('a password file edited by hand is read again: the next call succeeds, also once every connection was dropped', async () => {
    await insertThroughService(2);
    await setServicePassword('edited-by-hand-1');
    // In place, as an editor or `echo >` does: same file, same mode.
    writeFileSync(passwordFile, 'edited-by-hand-1\n');
    await dropServiceConnections();
    await insertThroughService(3);
  });

  test('a password file made unusable keeps the last good password; when that no longer logs in, the call names the file and the fix', async () => {
    chmodSync(passwordFile, 0o644);
    await dropServiceConnections();
    await insertThroughService(4);
    writeFileSync(passwordFile, 'edited-by-hand-2\n');
    await setServicePassword('edited-by-hand-2');
    await dropServiceConnections();
    const refused = inst.helper('x2goinsertsession', ['60', SRV, sid(10)], alice);
    assert.equal(refused.code, 4);
    assert.equal(refused.stdout, '');
    assert.match(
      refused.stderr,
      new RegExp(
        `^x2goinsertsession: password file ${passwordFile} is readable by others \\(mode 644\\); run: chmod 600 ${passwordFile}\\n$`,
      ),
    );
    chmodSync(passwordFile, 0o600);
    await insertThroughService(5);
  });
});
