// What one user can and cannot see or change of another's sessions, and what only root may do:
// real users, the installed setgid launcher, any backend. Each backend's test file adds what is
// its own (file modes for SQLite, raw SQL for PostgreSQL).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Account } from '../../src/system/accounts.js';
import type { BackendUnderTest, TestDatabase } from '../support/backends.js';
import { installLauncher, type Installed } from '../support/launcher.js';
import type { Requirement } from '../support/requirements.js';
import { writeConfig } from '../support/sandbox.js';
import { A, B, COOKIE, SHARE, SRV as SERVER } from '../support/scenario.js';
import { ensureUser, type Result } from '../support/system.js';

export { A, B, COOKIE, SERVER };

export interface IsolationContext {
  /** A created, empty database that alice and bob may use. */
  box: TestDatabase;
  inst: Installed;
  alice: Account;
  bob: Account;
}

export function refused(r: Result, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit ${r.code}: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, pattern);
}

/** Runs the shared suite; `more` adds the backend's own tests with the same context. */
export function isolationSuite(
  backend: BackendUnderTest,
  needs: Requirement,
  database: string,
  more: (ctx: () => IsolationContext) => void = () => {},
): void {
  describe(`isolation between users, through the setgid launcher (${backend.name})`, needs.options, () => {
    let ctx: IsolationContext;

    before(async () => {
      needs.check();
      const alice = ensureUser('alice');
      const bob = ensureUser('bob');
      const box = await backend.createDatabase({ database, users: ['alice', 'bob'] });
      const inst = installLauncher(box);
      ctx = { box, inst, alice, bob };
      for (const [user, sid, display, port] of [
        [alice, A, '51', 30001],
        [bob, B, '61', 30011],
      ] as const) {
        assert.equal(inst.helper('x2goinsertsession', [display, SERVER, sid], user).stdout, 'inserted');
        for (let p = port; p < port + 3; p++)
          assert.equal(inst.helper('x2goinsertport', [SERVER, sid, String(p)], user).stdout, 'inserted');
        const r = inst.helper(
          'x2gocreatesession',
          [sid, COOKIE, '4242', '10.0.0.1', String(port), String(port + 1), String(port + 2), '-1', '-1'],
          user,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.equal(inst.x2godb(['insertmount', sid, `/tmp/.x2go-${user.name}/media/disk/_home`, '10.0.0.1'], user).stdout, 'ok');
      }
    });
    after(async () => {
      if (ctx) await ctx.box.drop();
    });

    test('each user lists only their own sessions', () => {
      const { inst, alice, bob } = ctx;
      assert.match(inst.x2godb(['listsessions', SERVER], alice).stdout, new RegExp(`^4242\\|${A}\\|51\\|[^\\n]*\\|alice\\|`));
      assert.equal(inst.x2godb(['listsessions_all'], alice).stdout.split('\n').length, 1);
      assert.match(inst.x2godb(['listsessions_all'], bob).stdout, new RegExp(`^4242\\|${B}\\|`));
      assert.doesNotMatch(inst.x2godb(['listsessions_all'], bob).stdout, /alice/);
      assert.equal(inst.x2godb(['getmounts', A], alice).stdout, '10.0.0.1|/tmp/.x2go-alice/media/disk/_home');
    });

    test("alice can neither see nor change bob's session, ports or mounts", async () => {
      const { box, inst, alice } = ctx;
      const before = await box.rows();
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
      assert.equal(await box.rows(), before);
    });

    test('only root runs the root-only commands', async () => {
      const { box, inst, alice, bob } = ctx;
      const before = await box.rows();
      for (const args of [['listsessionsroot', SERVER], ['listsessionsroot_all'], ['rmsessionsroot', B], ['deletemounts', B]]) {
        refused(inst.x2godb(args, alice), 3, /is for root only; alice may not run it/);
      }
      refused(inst.helper('x2golistsessions_sql', ['--all-servers'], bob), 3, /root only/);
      assert.equal(await box.rows(), before);
      const all = inst.x2godb(['listsessionsroot_all']);
      assert.equal(all.code, 0, all.stderr);
      assert.deepEqual(
        all.stdout
          .split('\n')
          .map((l) => l.split('|')[1])
          .sort(),
        [A, B],
      );
    });

    test('through the launcher, the caller cannot choose the configuration', () => {
      const { box, inst, alice } = ctx;
      const elsewhere = `${box.dir}/alice-config`;
      writeConfig(elsewhere, `${box.dir}/alice-db`);
      refused(inst.x2godb(['--config', elsewhere, 'listsessions_all'], alice), 2, /--config is not accepted through the setgid launcher/);
      // The environment is cleared by the launcher: X2GO_CONFIG_DIR has no effect.
      const r = inst.x2godb(['listsessions_all'], alice, { X2GO_CONFIG_DIR: elsewhere, NODE_OPTIONS: '--require /tmp/evil.js' });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(A));
    });

    test('desktop sharing through the launcher: alice creates it for bob, bob lists it', () => {
      const { inst, alice, bob } = ctx;
      assert.equal(inst.helper('x2goinsertshadowsession', ['71', SERVER, SHARE, 'bob'], alice).stdout, 'inserted');
      const r = inst.helper('x2gocreateshadowsession', [SHARE, COOKIE, '4343', SERVER, '30021', '30022', '30023', 'bob'], alice);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        inst.x2godb(['listshadowsessions', SERVER], bob).stdout,
        new RegExp(`^4343\\|${SHARE}\\|71\\|[^\\n]*\\|bob\\|\\d+\\|30023$`),
      );
      assert.equal(inst.x2godb(['listshadowsessions_all'], alice).stdout, '');
      refused(inst.x2godb(['changestatus', 'F', SHARE], bob), 2, /not one of bob's sessions/);
      assert.equal(inst.helper('x2gochangestatus', ['F', SHARE], alice).code, 0);
    });

    more(() => ctx);
  });
}
