// The node registry's drain (issue 14 item 1) on a three-node PostgreSQL farm: while a login
// storm runs over all three, one node is drained. Every reservation for it from then on is
// refused with the clear message (and writes nothing), the others go on; its existing
// sessions stay and resume there; undrain takes it back into rotation. Also the registry's
// listing (nodes, --json) and the validation of the commands at the edge.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hasPostgres } from './support/postgres.js';
import { isRoot, requires } from './support/requirements.js';
import { createFarm, sid, type Farm } from './support/farm.js';

const needs = requires([isRoot, 'root'], [hasPostgres, 'PostgreSQL (apt-get install postgresql)']);
const NODES = ['node-a', 'node-b', 'node-c'];

describe('drain and undrain a node of a three-node PostgreSQL farm during a login storm', needs.options, () => {
  let farm: Farm;
  const admin = (args: string[]) => farm.program('x2go-sessiondb', [...args, '--config', farm.box.configDir]);
  const onNode = async (node: string) =>
    Number((await farm.query(`select count(*)::int as n from sessions where server = $1`, [node]))[0]?.n);

  before(async () => {
    needs.check();
    farm = await createFarm('x2go_farm_drain', NODES);
    // alice's suspended session on node-b, from before the drain.
    const id = sid('alice', 401);
    assert.equal((await farm.program('x2goinsertsession', ['401', 'node-b', id], farm.users[0])).stdout, 'inserted');
    assert.equal((await farm.program('x2gochangestatus', ['S', id], farm.users[0])).code, 0);
  });
  after(async () => farm?.close());

  test('nodes lists the registry; --json gives the figures', async () => {
    const r = await admin(['nodes']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(
      lines[0] ?? '',
      /^SERVER\s+STATE\s+WEIGHT\s+CAPACITY\s+RUNNING\s+SUSPENDED\s+LOAD\/CORE\s+MEM AVAILABLE\s+LAST SEEN\s+VERSION$/,
    );
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3)),
      NODES.map((n) => [n, 'active', '1']),
    );
    const json = JSON.parse((await admin(['nodes', '--json'])).stdout) as {
      server: string;
      state: string;
      load: { sessions: Record<string, number> };
    }[];
    assert.deepEqual(
      json.map((n) => [n.server, n.state]),
      NODES.map((n) => [n, 'active']),
    );
  });

  test('bad input is refused at the edge, nothing written', async () => {
    for (const [args, message] of [
      [['drain'], /drain takes 1 argument/],
      [['drain', 'no such;node'], /is not a host name/],
      [['drain', 'node-x'], /no node node-x in the registry/],
      [['weight', 'node-a', '0'], /weight '0' is not a positive number/],
      [['weight', 'node-a', 'heavy'], /is not a positive number/],
      [['capacity', 'node-a', '1.5'], /is not a whole number or none/],
      [['nodes', '--bogus'], /Unknown option '--bogus'/],
    ] as const) {
      const r = await admin([...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    }
    const rows = await farm.query(`select server, state, weight, capacity from nodes order by server`);
    assert.deepEqual(
      rows.map((r) => [r.state, r.weight, r.capacity]),
      NODES.map(() => ['active', 1, null]),
    );
    // A user may not drain.
    const user = await farm.program('x2go-sessiondb', ['drain', 'node-a', '--config', farm.box.configDir], farm.users[1]);
    assert.equal(user.code, 3, user.stderr);
  });

  test('drained mid-storm: nothing new lands on it, the others go on; its suspended session resumes there', async () => {
    const CALLS = 48;
    let drainedAt = Number.POSITIVE_INFINITY;
    const calls = Array.from({ length: CALLS }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i * 40));
      const node = NODES[i % 3] as string;
      const startedAt = Date.now();
      const r = await farm.program('x2goreservesession', [node, `_stDstorm${i}_dp24`, '100', '2', '40000'], farm.users[i % 2]);
      return { node, startedAt, r };
    });
    const drain = (async () => {
      await new Promise((r) => setTimeout(r, 300));
      const r = await admin(['drain', 'node-b']);
      drainedAt = Date.now();
      return r;
    })();
    const [results, drained] = await Promise.all([Promise.all(calls), drain]);
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stdout, /^node-b: draining/);

    const onB = results.filter((c) => c.node === 'node-b');
    const after = onB.filter((c) => c.startedAt > drainedAt);
    assert.ok(after.length >= 5, `only ${after.length} calls for node-b after the drain`);
    for (const c of after) {
      assert.equal(c.r.code, 1, c.r.stdout);
      assert.match(
        c.r.stderr,
        /^x2goreservesession: node-b is draining: it takes no new session .*x2go-sessiondb place --user (alice|bob)\)\n$/,
      );
    }
    // Every refusal wrote nothing: node-b holds its old session and the ones reserved before.
    const before = onB.filter((c) => c.r.code === 0);
    assert.ok(before.every((c) => c.startedAt <= drainedAt));
    assert.equal(await onNode('node-b'), 1 + before.length);
    // The other nodes took every login meant for them.
    for (const c of results.filter((c) => c.node !== 'node-b')) assert.equal(c.r.code, 0, c.r.stderr);

    // The registry says so; the existing suspended session resumes on node-b.
    const json = JSON.parse((await admin(['nodes', '--json'])).stdout) as { server: string; state: string }[];
    assert.equal(json.find((n) => n.server === 'node-b')?.state, 'draining');
    const resumed = await farm.program('x2goresume', ['10.0.0.9', sid('alice', 401), '40990', '40991', '40992'], farm.users[0]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const [row] = await farm.query(`select status, server from sessions where session_id = $1`, [sid('alice', 401)]);
    assert.deepEqual([row?.status, row?.server], ['R', 'node-b']);
  });

  test('undrain: node-b takes new sessions again; weight and capacity are recorded', async () => {
    assert.match((await admin(['undrain', 'node-b'])).stdout, /^node-b: active\n$/);
    const r = await farm.program('x2goreservesession', ['node-b', '_stDafter_dp24', '100', '2', '40000'], farm.users[1]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await admin(['weight', 'node-c', '2.5'])).code, 0);
    assert.equal((await admin(['capacity', 'node-c', '40'])).code, 0);
    assert.equal((await admin(['capacity', 'node-a', 'none'])).code, 0);
    const rows = await farm.query(`select server, state, weight, capacity from nodes order by server`);
    assert.deepEqual(
      rows.map((x) => [x.server, x.state, x.weight, x.capacity]),
      [
        ['node-a', 'active', 1, null],
        ['node-b', 'active', 1, null],
        ['node-c', 'active', 2.5, 40],
      ],
    );
  });
});
