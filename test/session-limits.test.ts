// Issue 12, item 5: x2goserver.conf's [limit users] and [limit groups], which x2goserver's
// x2gosessionlimit checks before x2gostartagent starts a session (so logins at once all pass
// it), enforced by the reservation inside its transaction. 64 logins of one user at once with a
// limit of 2: exactly 2 sessions, the others get x2gosessionlimit's LIMIT, nothing half-written;
// on both backends, as a real user through the setgid launcher; on PostgreSQL also through two
// resident services running under two different host names (two nodes of a farm). The
// x2goserver.conf is the sandbox's: nothing here reads the host's /etc/x2go.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { perlNumber, sessionLimitOf, type SessionLimits } from '../src/model/session-limit.js';
import type { Account } from '../src/system/accounts.js';
import { BACKENDS, NEEDS_ROOT, NEEDS_X2GOUSER, POSTGRES, type TestDatabase } from './support/backends.js';
import { takeCensus } from './support/census.js';
import { installLauncher, installPrefix, type Installed } from './support/launcher.js';
import { shareServiceLogin } from './support/postgres.js';
import { hasCompiler } from './support/requirements.js';
import { serviceUser, socketPath } from './support/service.js';
import { DIST } from './support/sandbox.js';
import { ensureGroup, ensureUser, run, runAsync, type Result } from './support/system.js';

const LOGINS = 64;
const LIMITS_DB = 'x2go_session_limits';
const LIMIT_LINE = 'x2goreservesession: LIMIT\n';

function serverConf(dir: string, limits: string): void {
  writeFileSync(join(dir, 'x2goserver.conf'), `[telekinesis]\nenable=no\n\n[log]\nloglevel=notice\n\n${limits}`);
}

/** Alice's sessions, their ports, and the events written for them. */
async function aliceHolds(box: TestDatabase): Promise<{ sessions: number; created: number }> {
  const [s] = await box.query<{ n: unknown }>("select count(*) as n from sessions where uname = 'alice'");
  const [e] = await box.query<{ n: unknown }>("select count(*) as n from session_events where uname = 'alice' and event = 'created'");
  return { sessions: Number(s?.n), created: Number(e?.n) };
}

/** Nothing half-written: every session has its 3 ports, no port lacks its session, every session its event. */
async function assertWhole(box: TestDatabase): Promise<void> {
  const census = await takeCensus(box);
  assert.equal(census.orphans, 0, 'ports without a session');
  for (const [sid, , n] of census.sessions) assert.equal(n, 3, `${sid} holds ${n} ports`);
  const held = await aliceHolds(box);
  assert.equal(held.created, held.sessions, 'a session without its event, or an event without its session');
}

async function clear(box: TestDatabase): Promise<void> {
  for (const table of ['mounts', 'used_ports', 'sessions', 'session_events']) await box.query(`delete from ${table}`);
}

function assertExactly(results: Result[], allowed: number): void {
  const ok = results.filter((r) => r.code === 0);
  assert.equal(ok.length, allowed, results.map((r) => r.stderr).join(''));
  for (const r of results.filter((x) => x.code !== 0)) {
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, LIMIT_LINE);
  }
}

test("x2gosessionlimit's rules: a user entry decides alone; else any group at 0 lifts it, else the largest group value", () => {
  const limits = (users: [string, string][], groups: [string, string][]): SessionLimits => ({ users, groups });
  let asked = 0;
  const groups = (names: string[]) => () => {
    asked++;
    return names;
  };
  assert.equal(sessionLimitOf(limits([], []), 'alice', groups(['staff'])), undefined);
  assert.equal(sessionLimitOf(limits([['alice', '2']], [['staff', '0']]), 'alice', groups(['staff'])), 2);
  assert.equal(sessionLimitOf(limits([['alice', '0']], [['staff', '1']]), 'alice', groups(['staff'])), undefined);
  assert.equal(sessionLimitOf(limits([['alice', '']], [['staff', '3']]), 'alice', groups(['staff'])), 3, 'an empty entry is no entry');
  assert.equal(sessionLimitOf(limits([['bob', '1']], []), 'alice', groups([])), undefined);
  assert.equal(
    sessionLimitOf(
      limits(
        [],
        [
          ['staff', '3'],
          ['dev', '5'],
        ],
      ),
      'alice',
      groups(['staff', 'dev']),
    ),
    5,
  );
  assert.equal(
    sessionLimitOf(
      limits(
        [],
        [
          ['staff', '3'],
          ['dev', '0'],
        ],
      ),
      'alice',
      groups(['staff', 'dev']),
    ),
    undefined,
  );
  assert.equal(sessionLimitOf(limits([], [['staff', '3']]), 'alice', groups(['dev'])), undefined);
  assert.equal(sessionLimitOf(limits([], [['staff', '-1']]), 'alice', groups(['staff'])), undefined, 'not above -1: no limit');
  asked = 0;
  sessionLimitOf(limits([['alice', '2']], [['staff', '1']]), 'alice', groups(['staff']));
  sessionLimitOf(limits([], []), 'alice', groups(['staff']));
  assert.equal(asked, 0, 'the groups are looked up only when a group entry could decide');
  // Perl's numbers: a leading number, else 0 (no limit).
  assert.deepEqual(['2', ' 3', '2x', 'x', '1.5', '', '-2', '1e1'].map(perlNumber), [2, 3, 2, 0, 1.5, 0, -2, 10]);
});

for (const backend of BACKENDS) {
  const needs = backend.needs(NEEDS_ROOT, [hasCompiler, '/usr/bin/cc'], NEEDS_X2GOUSER);
  describe(`session limits in the reservation (${backend.name})`, needs.options, () => {
    let box: TestDatabase;
    let inst: Installed;
    let alice: Account;

    before(async () => {
      needs.check();
      ensureGroup('x2golimited');
      alice = ensureUser('alice');
      // alice in group x2golimited (groups added here: the account may exist from other suites).
      run('/usr/sbin/usermod', ['--append', '--groups', 'x2golimited', 'alice']);
      box = await backend.createDatabase({ database: LIMITS_DB, users: ['alice'] });
      inst = installLauncher(box);
    });
    after(async () => {
      await inst?.service?.stop();
      if (box) await box.drop();
      run('/usr/bin/gpasswd', ['--delete', 'alice', 'x2golimited']);
    });

    const logins = (n: number, server = 'vm') =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          inst.helperAsync('x2goreservesession', [server, `_stDlimit${i}_dp24`, '50', '3', '30000'], alice),
        ),
      );

    test(`[limit users] alice=2: ${LOGINS} logins at once, exactly 2 sessions, the others LIMIT`, async () => {
      serverConf(box.configDir, '[limit users]\nalice=2\n');
      assertExactly(await logins(LOGINS), 2);
      assert.deepEqual(await aliceHolds(box), { sessions: 2, created: 2 });
      await assertWhole(box);
      // A finished session no longer counts (x2golistsessions leaves it out): one more login.
      const [first] = await box.query<{ session_id: string }>("select session_id from sessions where uname = 'alice' order by display");
      assert.equal(inst.helper('x2gochangestatus', ['F', first?.session_id ?? ''], alice).code, 0);
      assertExactly(await logins(8), 1);
    });

    test('[limit groups]: the largest limit of the user’s groups; 0 (or a user entry) means no limit', async () => {
      await clear(box);
      serverConf(box.configDir, '[limit groups]\nx2golimited=1\nnosuchgroup=5\n');
      assertExactly(await logins(16), 1);
      await assertWhole(box);
      await clear(box);
      // x2gosessionlimit: a user entry decides alone, and 0 is no limit.
      serverConf(box.configDir, '[limit users]\nalice=0\n[limit groups]\nx2golimited=1\n');
      assertExactly(await logins(3), 3);
      await clear(box);
      serverConf(box.configDir, '[limit groups]\nx2golimited=0\n');
      assertExactly(await logins(3), 3);
      await clear(box);
      // Another user's entry does not apply to alice.
      serverConf(box.configDir, '[limit users]\nbob=1\n');
      assertExactly(await logins(3), 3);
    });
  });
}

// Two nodes of a farm: each a resident service under its own host name (a UTS namespace), with
// its own launcher; alice logs in 32 times on each at once.
const farmNeeds = POSTGRES.needs(NEEDS_ROOT, [hasCompiler, '/usr/bin/cc'], NEEDS_X2GOUSER);
describe('session limits across two nodes (PostgreSQL)', farmNeeds.options, () => {
  let box: TestDatabase;
  let alice: Account;
  const nodes: { name: string; prefix: string; socket: string; child: ReturnType<typeof spawn> }[] = [];

  before(async () => {
    farmNeeds.check();
    alice = ensureUser('alice');
    box = await POSTGRES.createDatabase({ database: `${LIMITS_DB}_farm`, users: ['alice'], serviceLogin: true });
    shareServiceLogin(box.configDir);
    serverConf(box.configDir, '[limit users]\nalice=2\n');
    for (const name of ['limit-node-a', 'limit-node-b']) {
      // The service's account's directory, as the unit's RuntimeDirectory= makes it.
      const socket = socketPath();
      const prefix = join(box.dir, name);
      installPrefix(prefix, box.configDir, socket);
      // Each node by its --hostname, as its account (as the unit runs it): the events it writes name it.
      const child = spawn(
        '/usr/bin/setpriv',
        [
          `--reuid=${serviceUser().uid}`,
          `--regid=${serviceUser().gid}`,
          '--clear-groups',
          process.execPath,
          join(DIST, 'x2gosessiond.cjs'),
          '--config',
          box.configDir,
          '--socket',
          socket,
          '--hostname',
          name,
        ],
        { stdio: 'ignore' },
      );
      nodes.push({ name, prefix, socket, child });
    }
    for (const node of nodes) {
      for (let waited = 0; !existsSync(node.socket); waited += 50) {
        assert.ok(waited < 15_000, `${node.name} did not come up`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  after(async () => {
    for (const node of nodes) node.child.kill('SIGTERM');
    if (box) await box.drop();
  });

  test(`${LOGINS} logins at once, half on each node: exactly 2 sessions farm-wide`, async () => {
    const results = await Promise.all(
      Array.from({ length: LOGINS }, (_, i) => {
        const node = nodes[i % 2];
        if (!node) throw new Error('no node');
        return runAsync(join(node.prefix, 'helpers', 'x2goreservesession'), [node.name, `_stDfarm${i}_dp24`, '50', '3', '30000'], {
          as: alice,
        });
      }),
    );
    assertExactly(results, 2);
    assert.deepEqual(await aliceHolds(box), { sessions: 2, created: 2 });
    await assertWhole(box);
    // The events name the node that wrote them: each service's own host name.
    const written = await box.query<{ node: string; server: string }>("select node, server from session_events where event = 'created'");
    for (const e of written) assert.equal(e.node, e.server, 'an event names the node that served the call');
  });
});
