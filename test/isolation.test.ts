// Real users, the installed setgid launcher, a database file root:x2gouser 0660: what one user
// can and cannot see or change of another's sessions, and what only root may do.

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lookupGroupId, type Account } from '../src/system/accounts.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { hasCompiler, isRoot, requires } from './support/requirements.js';
import { createSandbox, DIST, writeConfig, type Sandbox } from './support/sandbox.js';
import { ensureUser, run, type Result } from './support/system.js';

const needs = requires([isRoot, 'root'], [hasCompiler, '/usr/bin/cc'], [lookupGroupId('x2gouser') !== undefined, 'group x2gouser (x2goserver)']);
const SERVER = 'x2go-test';
const COOKIE = '378b0cdbb51fe1b8147f43a2bccb514d';

describe('isolation between users, through the setgid launcher', needs.options, () => {
  let box: Sandbox;
  let inst: Installed;
  let alice: Account;
  let bob: Account;
  const A = 'alice-51-1700000051_stDxfce_dp24';
  const B = 'bob-61-1700000061_stDxfce_dp24';
  const SHARE = 'bob-71-1700000071_stS1XSHADaliceXSHADPP51_dp24';

  function refused(r: Result, code: number, pattern: RegExp): void {
    assert.equal(r.code, code, `exit ${r.code}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, pattern);
  }

  before(() => {
    needs.check();
    alice = ensureUser('alice');
    bob = ensureUser('bob');
    box = createSandbox();
    assert.equal(box.admin(['--createdb']).code, 0);
    inst = installLauncher(box);
    for (const [user, sid, display, port] of [[alice, A, '51', 30001], [bob, B, '61', 30011]] as const) {
      assert.equal(inst.helper('x2goinsertsession', [display, SERVER, sid], user).stdout, 'inserted');
      for (let p = port; p < port + 3; p++) assert.equal(inst.helper('x2goinsertport', [SERVER, sid, String(p)], user).stdout, 'inserted');
      const r = inst.helper('x2gocreatesession', [sid, COOKIE, '4242', '10.0.0.1', String(port), String(port + 1), String(port + 2), '-1', '-1'], user);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(inst.x2godb(['insertmount', sid, `/tmp/.x2go-${user.name}/media/disk/_home`, '10.0.0.1'], user).stdout, 'ok');
    }
  });
  after(() => box?.remove());

  test('the launcher is root:x2gouser 2755, the database root:x2gouser 0660 in a 0770 directory', () => {
    const gid = lookupGroupId('x2gouser');
    const launcher = statSync(join(inst.prefix, 'x2godb-launcher'));
    assert.deepEqual([launcher.uid, launcher.gid, launcher.mode & 0o7777], [0, gid, 0o2755]);
    const file = statSync(box.dbPath);
    assert.deepEqual([file.uid, file.gid, file.mode & 0o777], [0, gid, 0o660]);
    const dir = statSync(join(box.dir, 'db'));
    assert.deepEqual([dir.uid, dir.gid, dir.mode & 0o777], [0, gid, 0o770]);
  });

  test('a user cannot read the database file directly, nor open it without the launcher', () => {
    const cat = run('/bin/cat', [box.dbPath], { as: alice });
    assert.notEqual(cat.code, 0);
    assert.match(cat.stderr, /Permission denied/);
    const direct = run(process.execPath, [join(DIST, 'x2godb.cjs'), 'listsessions_all'], { as: alice, env: { X2GO_CONFIG_DIR: box.configDir } });
    refused(direct, 4, /cannot open the file/);
  });

  test('each user lists only their own sessions', () => {
    assert.match(inst.x2godb(['listsessions', SERVER], alice).stdout, new RegExp(`^4242\\|${A}\\|51\\|[^\\n]*\\|alice\\|`));
    assert.equal(inst.x2godb(['listsessions_all'], alice).stdout.split('\n').length, 1);
    assert.match(inst.x2godb(['listsessions_all'], bob).stdout, new RegExp(`^4242\\|${B}\\|`));
    assert.doesNotMatch(inst.x2godb(['listsessions_all'], bob).stdout, /alice/);
    assert.equal(inst.x2godb(['getmounts', A], alice).stdout, '10.0.0.1|/tmp/.x2go-alice/media/disk/_home');
  });

  test("alice can neither see nor change bob's session, ports or mounts", () => {
    const before = box.dump();
    const attempts: string[][] = [
      ['changestatus', 'F', B],
      ['resume', '10.6.6.6', B, '1', '2', '3', '-1', '-1'],
      ['createsession', B, COOKIE, '1', '10.6.6.6', '1', '2', '3', '-1', '-1'],
      ['insertport', SERVER, B, '40000'],
      ['rmport', SERVER, B, '30011'],
      ['getstatus', B],
      ['getagent', B],
      ['getdisplay', B],
      ['getmounts', B],
      ['insertmount', B, '/tmp/x', '10.0.0.1'],
      ['deletemount', B, '/tmp/.x2go-bob/media/disk/_home'],
      ['insertsession', '62', SERVER, 'bob-62-1700000062_stDxfce_dp24'],
      ['insertshadowsession', '63', SERVER, 'carol-63-1700000063_stS1XSHADaliceXSHADPP51_dp24', 'root'],
    ];
    for (const args of attempts) refused(inst.x2godb(args, alice), 2, /not one of alice's sessions|not a desktop-sharing session/);
    refused(inst.helper('x2gochangestatus', ['F', B], alice), 2, /not one of alice's sessions/);
    assert.equal(box.dump(), before);
  });

  test('only root runs the root-only commands', () => {
    const before = box.dump();
    for (const args of [['listsessionsroot', SERVER], ['listsessionsroot_all'], ['rmsessionsroot', B], ['deletemounts', B]]) {
      refused(inst.x2godb(args, alice), 3, /is for root only; alice may not run it/);
    }
    refused(inst.helper('x2golistsessions_sql', ['--all-servers'], bob), 3, /root only/);
    assert.equal(box.dump(), before);
    const all = inst.x2godb(['listsessionsroot_all']);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(all.stdout.split('\n').map((l) => l.split('|')[1]).sort(), [A, B]);
  });

  test('through the launcher, the caller cannot choose the configuration', () => {
    const elsewhere = join(box.dir, 'alice-config');
    writeConfig(elsewhere, join(box.dir, 'alice-db'));
    refused(inst.x2godb(['--config', elsewhere, 'listsessions_all'], alice), 2, /--config is not accepted through the setgid launcher/);
    // The environment is cleared by the launcher: X2GO_CONFIG_DIR has no effect.
    const r = inst.x2godb(['listsessions_all'], alice, { X2GO_CONFIG_DIR: elsewhere, NODE_OPTIONS: '--require /tmp/evil.js' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(A));
  });

  test('desktop sharing through the launcher: alice creates it for bob, bob lists it', () => {
    assert.equal(inst.helper('x2goinsertshadowsession', ['71', SERVER, SHARE, 'bob'], alice).stdout, 'inserted');
    const r = inst.helper('x2gocreateshadowsession', [SHARE, COOKIE, '4343', SERVER, '30021', '30022', '30023', 'bob'], alice);
    assert.equal(r.code, 0, r.stderr);
    assert.match(inst.x2godb(['listshadowsessions', SERVER], bob).stdout, new RegExp(`^4343\\|${SHARE}\\|71\\|[^\\n]*\\|bob\\|\\d+\\|30023$`));
    assert.equal(inst.x2godb(['listshadowsessions_all'], alice).stdout, '');
    refused(inst.x2godb(['changestatus', 'F', SHARE], bob), 2, /not one of bob's sessions/);
    assert.equal(inst.helper('x2gochangestatus', ['F', SHARE], alice).code, 0);
  });
});
