// A farm: three X2Go servers (separate processes, different server names) on one PostgreSQL
// database, two users starting sessions on all of them at once.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Account } from '../src/system/accounts.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { createPgSandbox, ensurePostgres, hasPostgres, writePgConfig, type PgSandbox } from './support/postgres.js';
import { isRoot, requires } from './support/requirements.js';
import { DIST } from './support/sandbox.js';
import { ensureUser, runAsync, type Result } from './support/system.js';

const needs = requires([isRoot, 'root'], [hasPostgres, 'PostgreSQL (apt-get install postgresql)']);
const NODES = ['node-a', 'node-b', 'node-c'];

describe('a farm of three servers on one PostgreSQL database', needs.options, () => {
  let box: PgSandbox;
  let users: Account[];
  const sid = (user: string, display: number) => `${user}-${display}-17000${String(display).padStart(5, '0')}_stDxfce_dp24`;
  const program = (name: string, args: string[], as?: Account): Promise<Result> =>
    runAsync(process.execPath, [join(DIST, name.startsWith('x2godb') ? `${name}.cjs` : `helpers/${name}`), ...args], {
      ...(as ? { as } : {}),
      env: { X2GO_CONFIG_DIR: box.configDir },
    });

  before(async () => {
    needs.check();
    ensurePostgres();
    users = [ensureUser('alice'), ensureUser('bob')];
    box = createPgSandbox('x2go_farm');
    for (const args of [
      ['--createdb', '--force'],
      ['--adduser', 'alice'],
      ['--adduser', 'bob'],
    ]) {
      const r = box.admin(args);
      assert.equal(r.code, 0, r.stderr);
    }
    // Every node starts two sessions for each user, all at once, each call its own process.
    const starts = NODES.flatMap((node, n) =>
      users.flatMap((user, u) =>
        [0, 1].map(async (k) => {
          const display = 100 + n * 10 + u * 2 + k;
          const id = sid(user.name, display);
          const inserted = await program('x2goinsertsession', [String(display), node, id], user);
          assert.equal(inserted.stdout, 'inserted', inserted.stderr);
          const port = await program('x2goinsertport', [node, id, String(30000 + display)], user);
          assert.equal(port.stdout, 'inserted', port.stderr);
        }),
      ),
    );
    await Promise.all(starts);
  });
  after(async () => box?.drop());

  test("each node lists a user's sessions on that node; listsessions_all lists them on all", async () => {
    for (const node of NODES) {
      const r = await program('x2godb', ['listsessions', node], users[0]);
      const servers = r.stdout.split('\n').map((l) => l.split('|')[3]);
      assert.deepEqual(servers, [node, node], r.stderr);
    }
    const all = await program('x2godb', ['listsessions_all'], users[0]);
    assert.equal(all.stdout.split('\n').length, 6);
    assert.doesNotMatch(all.stdout, /\|bob\|/);
  });

  test('getservers counts the sessions of every user per server, without finished ones', async () => {
    const before = await program('x2gogetservers', [], users[1]);
    assert.deepEqual(before.stdout.split('\n').sort(), ['node-a 4', 'node-b 4', 'node-c 4']);
    assert.equal((await program('x2gochangestatus', ['F', sid('bob', 112)], users[1])).code, 0);
    const after = await program('x2gogetservers', [], users[0]);
    assert.deepEqual(after.stdout.split('\n').sort(), ['node-a 4', 'node-b 3', 'node-c 4']);
  });

  test('displays and ports are farm-wide: every node sees all of them', async () => {
    const displays = await program('x2gogetdisplays', ['node-a'], users[0]);
    assert.equal(displays.stdout.split('\n').length, 12);
    const ports = await program('x2gogetports', ['node-c'], users[1]);
    assert.equal(ports.stdout.split('\n').length, 12);
    const clash = await program('x2goinsertsession', ['101', 'node-c', sid('alice', 199)], users[0]);
    assert.deepEqual([clash.code, clash.stdout], [1, '']);
    assert.match(clash.stderr, /display 101 is already in use/);
  });

  test('scope=per-server: refused until the administrator confirms no Perl node writes; then each server numbers its own', async () => {
    const withScope = (scope: string) => writePgConfig(box.configDir, box.database, '', `scope=${scope}\n`);
    const rootPassword = readFileSync(join(box.configDir, 'x2gosql', 'passwords', 'x2gopgadmin'), 'utf8');
    withScope('per-server');
    writeFileSync(join(box.configDir, 'x2gosql', 'passwords', 'x2gopgadmin'), rootPassword, { mode: 0o600 });
    const refused = box.admin(['--updatedb']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /scope=per-server, the database is farm-wide; once no server runs the reference's Perl code .* --no-perl-nodes/,
    );
    const switched = box.admin(['--updatedb', '--no-perl-nodes']);
    assert.equal(switched.code, 0, switched.stderr);
    assert.match(switched.stdout, /scope: farm -> per-server/);
    // Two servers, the same lowest display and ports: each its own.
    const a = await program('x2goreservesession', ['node-a', '_stDxfce_dp24', '50', '3', '40000'], users[0]);
    const b = await program('x2goreservesession', ['node-b', '_stDxfce_dp24', '50', '3', '40000'], users[1]);
    assert.deepEqual(
      [a.stdout.trim().split(' ').slice(1), b.stdout.trim().split(' ').slice(1)],
      [
        ['50', '40000', '40001', '40002'],
        ['50', '40000', '40001', '40002'],
      ],
      a.stderr + b.stderr,
    );
    assert.equal((await program('x2gogetdisplays', ['node-c'], users[0])).stdout.split('\n').length, 4);
    // Back to the farm scope: refused while a display is in use on two servers.
    withScope('farm');
    writeFileSync(join(box.configDir, 'x2gosql', 'passwords', 'x2gopgadmin'), rootPassword, { mode: 0o600 });
    const back = box.admin(['--updatedb']);
    assert.equal(back.code, 1);
    assert.match(back.stderr, /cannot return to scope=farm: display 50 is in use on several servers/);
  });

  test("root's listing per node and for the farm", async () => {
    assert.equal((await program('x2godb', ['listsessionsroot', 'node-c'])).stdout.split('\n').length, 4);
    assert.equal((await program('x2godb', ['listsessionsroot_all'])).stdout.split('\n').length, 14);
  });
});
