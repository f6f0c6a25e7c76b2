// The administrator's session commands (issue 12 item 7) on a three-node PostgreSQL farm:
// sessions (table and --json, farm-wide, filters), terminate and suspend by id or by user. On
// this node they run x2goterminate-session / x2gosuspend-session as the session's user; for a
// session on another node, that node's x2gosessiond carries out the queued request within a
// second and the outcome comes back; a node that is down or runs no service is named in the
// error. X2Go's programs are stand-ins on PATH (test only) that record their uid, their
// arguments and which process ran them.

import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hasPostgres } from './support/postgres.js';
import { isRoot, requires } from './support/requirements.js';
import { createFarm, sid, waitFor, type Farm } from './support/farm.js';
import { scratchDir } from './support/scratch.js';

const needs = requires([isRoot, 'root'], [hasPostgres, 'PostgreSQL (apt-get install postgresql)']);
const NODES = ['node-a', 'node-b', 'node-c'];

describe('sessions, terminate and suspend across a PostgreSQL farm', needs.options, () => {
  let farm: Farm;
  let bin: string;
  let record: string;
  /** The CLI as root on node-a, with the stand-ins on PATH. */
  const admin = (args: string[], configDir = farm.box.configDir) =>
    farm.program('x2go-sessiondb', [...args, '--config', configDir, '--hostname', 'node-a'], undefined, {
      PATH: `${join(bin, 'cli')}:${process.env.PATH ?? ''}`,
    });
  const recorded = () =>
    readFileSync(record, 'utf8')
      .trimEnd()
      .split('\n')
      .filter((l) => l);
  const status = async (id: string) => (await farm.query(`select status from sessions where session_id = $1`, [id]))[0]?.status;

  before(async () => {
    needs.check();
    bin = scratchDir('x2godb-standins-');
    chmodSync(bin, 0o755);
    record = join(bin, 'record');
    writeFileSync(record, '', { mode: 0o666 });
    chmodSync(record, 0o666);
    // One directory of stand-ins per runner (the CLI, each node's service), each saying who it is:
    // the programs run with a minimal environment, PATH kept.
    for (const by of ['cli', ...NODES]) {
      mkdirSync(join(bin, by), { mode: 0o755 });
      for (const name of ['x2goterminate-session', 'x2gosuspend-session']) {
        // Records who ran it, as whom, with what; fails for session ids with display 599.
        writeFileSync(
          join(bin, by, name),
          `#!/bin/sh\necho "${name} uid=$(id -u) groups=$(id -G) by=${by} args=$*" >> ${record}\ncase "$1" in *-599-*) echo "agent did not answer" >&2; exit 1;; esac\nexit 0\n`,
          { mode: 0o755 },
        );
      }
    }
    farm = await createFarm('x2go_farm_admin', NODES, (node) => ({ PATH: `${join(bin, node)}:${process.env.PATH ?? ''}` }));
    const [alice, bob] = farm.users as [NonNullable<Farm['users'][0]>, NonNullable<Farm['users'][0]>];
    for (const [user, display, node, st] of [
      [alice, 501, 'node-a', 'R'],
      [bob, 502, 'node-b', 'R'],
      [alice, 503, 'node-b', 'S'],
      [bob, 504, 'node-c', 'R'],
      [alice, 505, 'node-z', 'R'],
      [bob, 599, 'node-b', 'R'],
    ] as const) {
      const id = sid(user.name, display);
      assert.equal((await farm.program('x2goinsertsession', [String(display), node, id], user)).stdout, 'inserted');
      if (st === 'S') assert.equal((await farm.program('x2gochangestatus', ['S', id], user)).code, 0);
    }
  });
  after(async () => farm?.close());

  test('sessions: a readable table of the whole farm; --json and the filters for scripts', async () => {
    const r = await admin(['sessions']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^SESSION\s+USER\s+SERVER\s+STATUS\s+DISPLAY\s+CLIENT\s+STARTED\s+LAST CHANGE$/);
    assert.equal(lines.length, 7);
    const json = JSON.parse((await admin(['sessions', '--json', '--user', 'alice'])).stdout) as {
      sessionId: string;
      server: string;
      status: string;
    }[];
    assert.deepEqual(
      json.map((s) => [s.server, s.status]),
      [
        ['node-a', 'R'],
        ['node-b', 'S'],
        ['node-z', 'R'],
      ],
    );
    const suspended = JSON.parse((await admin(['sessions', '--json', '--status', 'S', '--server', 'node-b'])).stdout) as {
      sessionId: string;
    }[];
    assert.deepEqual(
      suspended.map((s) => s.sessionId),
      [sid('alice', 503)],
    );
    assert.equal(JSON.parse((await admin(['sessions', '--json', '--older-than', '1h'])).stdout).length, 0);
    for (const [args, message] of [
      [['sessions', '--status', 'X'], /status/],
      [['sessions', '--older-than', 'yesterday'], /--older-than 'yesterday' is not a duration/],
      [['terminate'], /takes session ids or --user U/],
      [['terminate', 'not a session id'], /session_id/],
      [['suspend', '--server', 'node-b'], /takes session ids or --user U/],
    ] as const) {
      const bad = await admin([...args]);
      assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
      assert.match(bad.stderr, message);
    }
    // Root only: a user is refused, whatever the command.
    for (const args of [['sessions'], ['terminate', sid('bob', 502)]]) {
      const user = await farm.program('x2go-sessiondb', [...args, '--config', farm.box.configDir], farm.users[0]);
      assert.equal(user.code, 3, user.stderr);
    }
    assert.deepEqual(recorded(), []);
  });

  test('terminate on this node runs x2goterminate-session here, as the session user', async () => {
    const r = await admin(['terminate', sid('alice', 501)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `terminated ${sid('alice', 501)} on node-a\n`);
    const [line] = recorded();
    const uid = farm.users[0]?.uid;
    assert.match(line ?? '', new RegExp(`^x2goterminate-session uid=${uid} groups=[\\d ]+ by=cli args=${sid('alice', 501)}$`));
    assert.equal((await farm.query('select count(*)::int as n from admin_requests'))[0]?.n, 0);
  });

  test("terminate on another node: that node's service runs it within a second and the outcome comes back", async () => {
    const started = Date.now();
    const r = await admin(['terminate', sid('bob', 502)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `terminated ${sid('bob', 502)} on node-b\n`);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    assert.match(recorded()[1] ?? '', new RegExp(`^x2goterminate-session uid=${farm.users[1]?.uid} .*by=node-b args=${sid('bob', 502)}$`));
    const [req] = await farm.query(
      `select node, session_id, action, requested_by, state, outcome, extract(epoch from done_at - requested_at)::float8 as took from admin_requests`,
    );
    assert.deepEqual(
      [req?.node, req?.session_id, req?.action, req?.requested_by, req?.state],
      ['node-b', sid('bob', 502), 'terminate', 0, 'done'],
    );
    assert.ok(Number(req?.took) < 1, `carried out ${req?.took} s after it was queued`);
    assert.match(farm.services.get('node-b')?.log() ?? '', /admin request \d+ \(terminate by uid 0\): terminated/);
  });

  test('suspend --user: only running sessions, wherever they are; a failing program is reported with its node', async () => {
    const r = await admin(['suspend', '--user', 'bob']);
    // bob: 502 was terminated by the stand-in only (still R in the table), 504 on node-c, 599 fails.
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`^suspended ${sid('bob', 504)} on node-c$`, 'm'));
    assert.match(r.stdout, new RegExp(`^suspended ${sid('bob', 502)} on node-b$`, 'm'));
    assert.equal(r.stderr, `x2go-sessiondb: node-b: x2gosuspend-session ${sid('bob', 599)} exited with 1: agent did not answer\n`);
    const suspends = recorded().filter((l) => l.startsWith('x2gosuspend-session'));
    assert.equal(suspends.length, 3);
    assert.ok(suspends.every((l) => l.includes(`uid=${farm.users[1]?.uid} `)));
    assert.deepEqual((await farm.query(`select state from admin_requests where session_id = $1`, [sid('bob', 599)]))[0]?.state, 'failed');
    // A suspended session is not suspended again; it can be terminated.
    const again = await admin(['suspend', sid('alice', 503)]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is suspended; nothing to suspend/);
    const t = await admin(['terminate', '--user', 'alice', '--server', 'node-b']);
    assert.equal(t.code, 0, t.stderr);
    assert.equal(t.stdout, `terminated ${sid('alice', 503)} on node-b\n`);
    assert.equal(await status(sid('alice', 503)), 'S'); // the stand-in changes nothing
  });

  test('a node without a service, or down, is named in a clear error and nothing is queued for it', async () => {
    const queued = Number((await farm.query('select count(*)::int as n from admin_requests'))[0]?.n);
    const none = await admin(['terminate', sid('alice', 505)]);
    assert.equal(none.code, 1);
    assert.equal(
      none.stderr,
      'x2go-sessiondb: node node-z runs no x2gosessiond (it is not in the node registry): run the command on node-z\n',
    );
    // node-c dies. The administrator's command judges it down with its own node_timeout (2 s
    // here) before the farm's cleanup (3 s) closes its sessions.
    const cliConfig = scratchDir('x2godb-cli-conf-');
    cpSync(farm.box.configDir, cliConfig, { recursive: true });
    writeFileSync(join(cliConfig, 'x2goserver.conf'), '[sessiond]\nheartbeat=1\nnode_timeout=2\n');
    farm.services.get('node-c')?.child.kill('SIGKILL');
    await waitFor(
      'node-c silent for 2 s',
      async () =>
        Number((await farm.query(`select extract(epoch from now() - last_seen)::float8 as s from nodes where server = 'node-c'`))[0]?.s) >
        2.1,
      10_000,
    );
    const down = await admin(['terminate', sid('bob', 504)], cliConfig);
    assert.equal(down.code, 1);
    assert.match(
      down.stderr,
      new RegExp(
        `^x2go-sessiondb: node node-c is down \\(last seen \\d+ s ago\\): cannot terminate ${sid('bob', 504)}; the farm closes a down node's sessions by itself\n$`,
      ),
    );
    assert.equal(Number((await farm.query('select count(*)::int as n from admin_requests'))[0]?.n), queued);
  });
});
