// When PostgreSQL is not there, refuses us, or fails half-way: one line naming the server and
// the cause, a non-zero exit within the connect timeout, and nothing half-written.

import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Account } from '../src/system/accounts.js';
import {
  createPgSandbox,
  ensurePostgres,
  hasPostgres,
  pgDump,
  pgPort,
  superuser,
  writePgConfig,
  type PgSandbox,
} from './support/postgres.js';
import { isRoot, requires } from './support/requirements.js';
import { createSandbox, DIST, type Sandbox } from './support/sandbox.js';
import { ensureUser, runAsync, type Result } from './support/system.js';

const needs = requires([isRoot, 'root'], [hasPostgres, 'PostgreSQL (apt-get install postgresql)']);
const DB = 'x2go_failures';
const SID = 'root-51-1700000051_stDxfce_dp24';

function oneLine(r: Result, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.split('\n').length, 2, r.stderr);
  assert.doesNotMatch(r.stderr, /\b(select|insert|delete|update)\b|\$1/i, 'no SQL in messages');
}

describe('PostgreSQL failures: one line, bounded time, nothing half-written', needs.options, () => {
  let box: PgSandbox;
  let other: Sandbox;
  let silent: Server;
  let silentPort = 0;
  let rootPassword = '';

  /** x2godb as root with [postgres] settings added to the good ones (later keys win). */
  async function attempt(extra: string, password = rootPassword, mode = 0o600): Promise<{ r: Result; ms: number }> {
    writePgConfig(other.configDir, DB, extra);
    const file = join(other.configDir, 'x2gosql', 'passwords', 'x2gopgadmin');
    writeFileSync(file, password);
    chmodSync(file, mode);
    const start = Date.now();
    const r = await runAsync(process.execPath, [join(DIST, 'x2godb.cjs'), 'getservers'], { env: { X2GO_CONFIG_DIR: other.configDir } });
    return { r, ms: Date.now() - start };
  }

  before(async () => {
    needs.check();
    ensurePostgres();
    ensureUser('alice');
    box = createPgSandbox(DB);
    assert.equal(box.admin(['--createdb', '--force']).code, 0);
    assert.equal(box.admin(['--adduser', 'alice']).code, 0);
    rootPassword = readFileSync(join(box.configDir, 'x2gosql', 'passwords', 'x2gopgadmin'), 'utf8');
    other = createSandbox('x2godb-pgfail-');
    // A server that accepts connections and never answers: only the connect timeout ends the wait.
    silent = createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((resolve) => silent.once('listening', resolve));
    silentPort = (silent.address() as { port: number }).port;
  });
  after(async () => {
    silent?.close();
    other?.remove();
    await box?.drop();
  });

  test('the good settings work (the baseline for the rest)', async () => {
    const { r } = await attempt('');
    assert.equal(r.code, 0, r.stderr);
  });

  test('nothing listening: connection refused, at once', async () => {
    const { r, ms } = await attempt('port=1\n');
    oneLine(r, 4, /^x2godb: cannot connect to PostgreSQL at localhost:1: connection refused\n$/);
    assert.ok(ms < 3000, `${ms} ms`);
  });

  test('a server that never answers: the connect timeout (5 s), not a hang', async () => {
    const { r, ms } = await attempt(`host=127.0.0.1\nport=${silentPort}\n`);
    oneLine(
      r,
      4,
      new RegExp(`^x2godb: cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${silentPort}: no answer within the connect timeout\\n$`),
    );
    assert.ok(ms >= 4500 && ms < 8000, `${ms} ms`);
  });

  test('an unknown host name', async () => {
    const { r } = await attempt('host=no-such-host.invalid\n');
    oneLine(r, 4, new RegExp(`cannot connect to PostgreSQL at no-such-host\\.invalid:${pgPort()}: host name not found`));
  });

  test('a wrong password', async () => {
    const { r } = await attempt('', 'not-the-password');
    oneLine(r, 4, new RegExp(`PostgreSQL at localhost:${pgPort()} refused the password`));
  });

  test('a password file others may read is refused before anything is sent', async () => {
    const { r } = await attempt('', rootPassword, 0o644);
    oneLine(r, 4, /password file .*x2gopgadmin is readable by others \(mode 644\); run: chmod 600 /);
  });

  test('a database that does not exist', async () => {
    const { r } = await attempt('database=x2go_no_such_db\n');
    oneLine(r, 4, new RegExp(`PostgreSQL at localhost:${pgPort()} has no session database \\(run x2godbadmin --createdb\\)`));
  });

  test('a role without its grants: denied, naming the server, exit 3', async () => {
    const alice = ensureUser('alice') as Account;
    const su = superuser();
    await su`revoke x2go_users from x2gouser_alice`;
    try {
      const r = await runAsync(process.execPath, [join(DIST, 'x2godb.cjs'), 'listsessions_all'], {
        as: alice,
        env: { X2GO_CONFIG_DIR: box.configDir },
      });
      oneLine(r, 3, new RegExp(`list sessions: PostgreSQL at localhost:${pgPort()} denied it \\(missing grant`));
    } finally {
      await su`grant x2go_users to x2gouser_alice`;
      await su.end();
    }
  });

  test('a purge that fails half-way leaves the session, its ports and mounts all in place', async () => {
    const x2godb = (args: string[]) =>
      runAsync(process.execPath, [join(DIST, 'x2godb.cjs'), ...args], { env: { X2GO_CONFIG_DIR: box.configDir } });
    assert.equal((await x2godb(['insertsession', '51', 'x2go-test', SID])).code, 0);
    assert.equal((await x2godb(['insertport', 'x2go-test', SID, '30001'])).code, 0);
    assert.equal((await x2godb(['insertmount', SID, '/tmp/x', '10.0.0.1'])).stdout, 'ok');
    const before = await pgDump(DB);
    // The last of the purge's three deletes fails.
    const su = superuser(DB);
    await su.unsafe(`create function fail_delete() returns trigger language plpgsql as $$ begin raise exception 'no'; end $$;
      create trigger fail_delete before delete on sessions for each row execute function fail_delete()`);
    try {
      const r = await x2godb(['rmsessionsroot', SID]);
      oneLine(r, 1, new RegExp(`^x2godb: remove session: PostgreSQL at localhost:${pgPort()} reported error P0001\\n$`));
      assert.equal(await pgDump(DB), before);
    } finally {
      await su.unsafe('drop trigger fail_delete on sessions; drop function fail_delete()');
      await su.end();
    }
    assert.equal((await x2godb(['rmsessionsroot', SID])).stdout, 'ok');
  });
});
