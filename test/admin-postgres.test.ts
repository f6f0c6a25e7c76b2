// x2godbadmin on PostgreSQL, against a real server: the database, root's role, users and
// groups; idempotence; names that would break or inject into SQL; secrets stored as SCRAM.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lookupUser } from '../src/system/accounts.js';
import { connectAs, createPgSandbox, ensurePostgres, hasPostgres, pgPort, superuser, type PgSandbox } from './support/postgres.js';
import { isRoot, requires } from './support/requirements.js';
import { ensureGroup, ensureUser, removeUser, type Result } from './support/system.js';

const needs = requires([isRoot, 'root'], [hasPostgres, 'PostgreSQL (apt-get install postgresql)']);
const DB = 'x2go_admin';
/** Names that break naive SQL: a quote, a space, a double quote with SQL after it, non-ASCII. */
const ODD_NAMES = ["o'neil", 'anna maria', 'x"; drop role postgres; --', 'jürgen'];

function ok(r: Result, stdout: RegExp): void {
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.match(r.stdout, stdout);
}

async function role(name: string): Promise<{ password: string; member: boolean } | undefined> {
  const sql = superuser();
  try {
    const [r] = await sql`select rolpassword, pg_has_role(a.oid, 'x2go_users', 'member') as member
      from pg_authid a where rolname = ${name}`;
    return r ? { password: String(r.rolpassword), member: Boolean(r.member) } : undefined;
  } finally {
    await sql.end();
  }
}

describe('x2godbadmin (PostgreSQL)', needs.options, () => {
  let box: PgSandbox;
  before(() => {
    needs.check();
    ensurePostgres();
    ensureUser('alice');
    ensureUser('bob');
    ensureGroup('x2gotestgrp');
    ensureUser('carol', { primaryGroup: 'x2gotestgrp' });
    ensureUser('dave', { groups: ['x2gotestgrp'] });
    for (const name of ODD_NAMES) ensureUser(name);
    box = createPgSandbox(DB);
  });
  after(async () => {
    // Their roles go with the users: roles are cluster-wide and outlive the database.
    for (const name of ODD_NAMES) box?.admin(['--rmuser', name]);
    for (const name of ODD_NAMES) removeUser(name);
    await box?.drop();
  });

  test('--createdb: the database, x2godbuser with a SCRAM verifier, its password file 0600, every migration', async () => {
    ok(
      box.admin(['--createdb', '--force']),
      new RegExp(
        `^(dropped .*\\n)?x2godbuser: (created|new password), stored in .*x2gopgadmin \\(mode 600\\)\\ncreated database x2go_admin at localhost:${pgPort()}\\nmigration 0001 reference_schema: applied\\n.*\\nmigration 0003 row_level_security: applied\\nmigration 0004 status_grants: applied\\nmigration 0005 quota_locks: applied\\nmigration 0006 farm_operations: applied\\nx2go_admin: schema version 6\\nx2gosessiond: (created|new password), password in .*x2gosessiond\\.password \\(mode 600\\); member of x2godbuser and \\d+ user role\\(s\\)\\n$`,
      ),
    );
    const file = join(box.configDir, 'x2gosql', 'passwords', 'x2gopgadmin');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match((await role('x2godbuser'))?.password ?? '', /^SCRAM-SHA-256\$256:/);
  });

  test('--updatedb is idempotent and tightens a password file the reference left readable', () => {
    const file = join(box.configDir, 'x2gosql', 'passwords', 'x2gopgadmin');
    chmodSync(file, 0o644);
    const r = box.admin(['--updatedb']);
    ok(
      r,
      /migration 0001 reference_schema: already applied\n(.*already applied\n){5}x2go_admin: schema version 6\nscope: farm .*\nx2gosessiond: present, password file in place; .*\n.*x2gopgadmin: was readable by others, now mode 600\n$/,
    );
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  test('--adduser: a role with a SCRAM verifier in x2go_users, ~/.x2go/pgsqlpass 0600; again: no change', async () => {
    box.admin(['--rmuser', 'alice']);
    ok(box.admin(['--adduser', 'alice']), /^x2gouser_alice: created, password in .*\/\.x2go\/pgsqlpass\n$/);
    ok(box.admin(['--adduser', 'alice']), /^x2gouser_alice: already present, password file in place\n$/);
    const alice = lookupUser('alice');
    const file = join(alice?.home ?? '', '.x2go', 'pgsqlpass');
    const st = statSync(file);
    assert.deepEqual([st.uid, st.mode & 0o777], [alice?.uid, 0o600]);
    const r = await role('x2gouser_alice');
    assert.match(r?.password ?? '', /^SCRAM-SHA-256\$256:/);
    assert.equal(r?.member, true);
  });

  test('--adduser refuses root and unknown users, one line, exit 2', () => {
    const root = box.admin(['--adduser', 'root']);
    assert.deepEqual([root.code, root.stderr], [2, 'x2godbadmin: The super-user "root" is not allowed to use X2Go\n']);
    const nobody = box.admin(['--adduser', 'no-such-user-x2g']);
    assert.deepEqual([nobody.code, nobody.stderr], [2, 'x2godbadmin: Cannot find user (no-such-user-x2g)\n']);
  });

  test('names with quotes, spaces, SQL or non-ASCII letters become exactly those roles, nothing more', async () => {
    for (const name of ODD_NAMES) ok(box.admin(['--adduser', name]), /^x2gouser_.*: (created|new password)/);
    for (const name of ODD_NAMES) assert.equal((await role(`x2gouser_${name}`))?.member, true, name);
    assert.ok(await role('postgres'), 'the injected DROP ROLE did not run');
  });

  test('--adduser again when the stored password no longer works: a new one', async () => {
    const sql = superuser();
    await sql.unsafe(`ALTER ROLE x2gouser_alice PASSWORD 'changed-behind-our-back'`);
    await sql.end();
    ok(box.admin(['--adduser', 'alice']), /^x2gouser_alice: new password, password in /);
    ok(box.admin(['--adduser', 'alice']), /^x2gouser_alice: already present, password file in place\n$/);
  });

  test('a user name too long for a role name is refused, not cut', () => {
    // useradd stops at 32 bytes; directory services do not. An entry of our own, removed after.
    const name = `long${'n'.repeat(56)}`;
    const passwd = readFileSync('/etc/passwd', 'utf8');
    writeFileSync('/etc/passwd', `${passwd}${name}:x:64999:64999::/nonexistent:/bin/sh\n`);
    try {
      const r = box.admin(['--adduser', name]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /longer than 63 bytes, PostgreSQL would cut it/);
    } finally {
      writeFileSync('/etc/passwd', passwd);
    }
  });

  test("--listusers prints the reference's table", () => {
    const r = box.admin(['--listusers']);
    assert.equal(r.code, 0);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'UNIX user            DB user');
    assert.equal(lines[1], '---------------------------------------');
    assert.ok(lines.includes(`${'alice'.padEnd(20)} x2gouser_alice`));
    assert.ok(!r.stdout.includes('x2go_users'));
  });

  test('--addgroup adds listed members and those whose primary group it is; --rmgroup removes them', async () => {
    const added = box.admin(['--addgroup', 'x2gotestgrp']);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^x2gouser_dave: /m);
    assert.match(added.stdout, /^x2gouser_carol: /m);
    assert.equal((await role('x2gouser_carol'))?.member, true);
    const removed = box.admin(['--rmgroup', 'x2gotestgrp']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /^x2gouser_carol: removed/m);
    assert.equal(await role('x2gouser_dave'), undefined);
    const missing = box.admin(['--addgroup', 'no-such-group-x2g']);
    assert.deepEqual([missing.code, missing.stderr], [2, 'x2godbadmin: Cannot find group (no-such-group-x2g)\n']);
  });

  test("the service's role: NOINHERIT, so it may do nothing alone; --adduser and --rmuser keep its membership in each user's role", async () => {
    ok(box.admin(['--adduser', 'alice']), /x2gouser_alice/);
    const password = readFileSync(join(box.configDir, 'x2gosql', 'x2gosessiond.password'), 'utf8').trim();
    const service = connectAs('x2gosessiond', password, DB);
    const member = async (r: string) => (await service`select pg_has_role('x2gosessiond', ${r}, 'member') as m`)[0]?.m as boolean;
    try {
      assert.equal(await member('x2gouser_alice'), true);
      assert.equal(await member('x2godbuser'), true);
      await assert.rejects(service`select * from sessions`, /permission denied/);
      await service.begin(async (tx) => {
        await tx`set local role x2gouser_alice`;
        assert.deepEqual(await tx`select current_user as u`.then((r) => r[0]?.u), 'x2gouser_alice');
      });
      ok(box.admin(['--adduser', 'bob']), /x2gouser_bob/);
      assert.equal(await member('x2gouser_bob'), true);
      ok(box.admin(['--rmuser', 'bob']), /x2gouser_bob: removed/);
      assert.equal((await service`select 1 from pg_roles where rolname = 'x2gouser_bob'`).length, 0);
    } finally {
      await service.end();
    }
  });

  test('--rmuser removes the role and the password file; again: not present', async () => {
    ok(box.admin(['--adduser', 'bob']), /x2gouser_bob/);
    ok(box.admin(['--rmuser', 'bob']), /^x2gouser_bob: removed\n$/);
    ok(box.admin(['--rmuser', 'bob']), /^x2gouser_bob: not present\n$/);
    assert.equal(await role('x2gouser_bob'), undefined);
    assert.ok(!existsSync(join(lookupUser('bob')?.home ?? '', '.x2go', 'pgsqlpass')));
  });

  test('--createdb refuses a database with sessions unless --force', () => {
    const r = box.x2godb(['insertsession', '51', 'x2go-test', 'root-51-1700000051_stDxfce_dp24']);
    assert.equal(r.code, 0, r.stderr);
    const refused = box.admin(['--createdb']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      new RegExp(
        `^x2godbadmin: database x2go_admin at localhost:${pgPort()} holds 1 session\\(s\\); --createdb would delete them\\. Use --updatedb .* or --force to start empty\\n$`,
      ),
    );
    ok(box.admin(['--createdb', '--force']), /^dropped database x2go_admin with 1 session\(s\)\n/);
  });

  test('a migration that fails after a good one: the report shows the good one applied (and it stays), the failed one, exit 1', async () => {
    // A database whose record lost 0004 and 0005 (as if edited by hand): 0004 applies again
    // cleanly, 0005 fails on the policy it finds already there.
    const sql = superuser(DB);
    try {
      await sql`delete from x2go_schema_migrations where version >= 4`;
    } finally {
      await sql.end();
    }
    const r = box.admin(['--updatedb']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stdout,
      /^migration 0001 reference_schema: already applied\n(.*already applied\n){2}migration 0004 status_grants: applied\nmigration 0005 quota_locks: FAILED\nmigration 0006 farm_operations: not run\n$/,
    );
    assert.match(
      r.stderr,
      new RegExp(`^x2godbadmin: apply migration 0005 quota_locks: PostgreSQL at localhost:${pgPort()} reported error 42710\\n$`),
    );
    const check = superuser(DB);
    try {
      assert.deepEqual(
        (await check`select version from x2go_schema_migrations order by version`).map((row) => row.version),
        [1, 2, 3, 4],
      );
    } finally {
      await check.end();
    }
    // Nothing else is left half-done: --createdb --force starts clean again.
    ok(box.admin(['--createdb', '--force']), /schema version 6\n/);
  });
});
