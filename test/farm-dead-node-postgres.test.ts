// Dead-node cleanup (issue 12 item 2): three nodes on one PostgreSQL database, one SIGKILLed
// and never restarted. Its sessions, ports and mounts are closed within node_timeout plus one
// heartbeat, by exactly one live node (the advisory lock; the logs show the others did not
// race), each session with a 'cleaned' event written in the same transaction. The live nodes'
// sessions stay; a node that comes back re-registers and is not harmed.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hasPostgres } from './support/postgres.js';
import { isRoot, requires } from './support/requirements.js';
import { createFarm, HEARTBEAT_S, NODE_TIMEOUT_S, sid, waitFor, type Farm } from './support/farm.js';

const needs = requires([isRoot, 'root'], [hasPostgres, 'PostgreSQL (apt-get install postgresql)']);

describe('dead-node cleanup on a three-node PostgreSQL farm', needs.options, () => {
  let farm: Farm;
  const count = async (table: string, where: string, params: unknown[]) =>
    Number((await farm.query(`select count(*)::int as n from ${table} where ${where}`, params))[0]?.n);

  before(async () => {
    needs.check();
    farm = await createFarm('x2go_farm_dead_node', ['node-a', 'node-b', 'node-c']);
    const [alice, bob] = farm.users as [NonNullable<Farm['users'][0]>, NonNullable<Farm['users'][0]>];
    // Two sessions on node-c (one with a mount), one on node-a.
    for (const [user, display, node] of [
      [alice, 301, 'node-c'],
      [bob, 302, 'node-c'],
      [alice, 303, 'node-a'],
    ] as const) {
      const id = sid(user.name, display);
      const r = await farm.program('x2goinsertsession', [String(display), node, id], user);
      assert.equal(r.stdout, 'inserted', r.stderr);
      assert.equal((await farm.program('x2goinsertport', [node, id, String(31000 + display)], user)).code, 0);
    }
    const mount = await farm.program('x2godb', ['insertmount', sid('alice', 301), '/tmp/mnt', '10.1.2.3'], farm.users[0]);
    assert.equal(mount.code, 0, mount.stderr);
  });
  after(async () => farm?.close());

  test('every node records its heartbeat: server, version, pid, start time and load', async () => {
    const rows = await farm.query(
      `select server, version, pid, load, now() - last_seen < interval '3 s' as fresh from nodes order by server`,
    );
    assert.deepEqual(
      rows.map((r) => r.server),
      ['node-a', 'node-b', 'node-c'],
    );
    for (const r of rows) {
      assert.equal(r.fresh, true);
      assert.equal(r.pid, farm.services.get(String(r.server))?.child.pid);
      assert.match(String(r.version), /^\d+\.\d+\.\d+$/);
      const load = r.load as { sessions: Record<string, number>; loadPerCore: number; memAvailableBytes: number };
      assert.ok(load.memAvailableBytes > 0 && load.loadPerCore >= 0, JSON.stringify(load));
    }
    await waitFor(
      'node-c reports its two running sessions',
      async () => ((await farm.query(`select load->'sessions'->>'R' as r from nodes where server = 'node-c'`))[0]?.r ?? null) === '2',
      5000,
    );
  });

  test('a SIGKILLed node is cleaned within node_timeout plus one cycle, by one node, with history', async () => {
    const killed = farm.services.get('node-c');
    killed?.child.kill('SIGKILL');
    const lastSeen = Number(
      (await farm.query(`select extract(epoch from last_seen)::float8 as t from nodes where server = 'node-c'`))[0]?.t,
    );
    await waitFor('node-c sessions cleaned', async () => (await count('sessions', 'server = $1', ['node-c'])) === 0, 20_000);
    const cleanedAt = Number(
      (await farm.query(`select extract(epoch from max(at))::float8 as t from session_events where event = 'cleaned'`))[0]?.t,
    );
    // Its last heartbeat + node_timeout + one heartbeat of the cleaner (+ slack for a busy machine).
    const took = cleanedAt - lastSeen;
    assert.ok(took <= NODE_TIMEOUT_S + HEARTBEAT_S + 1.5, `cleaned ${took.toFixed(2)} s after node-c was last seen`);
    assert.ok(took >= NODE_TIMEOUT_S, `cleaned ${took.toFixed(2)} s after node-c was last seen: before it was down`);

    assert.equal(await count('used_ports', 'server = $1', ['node-c']), 0);
    assert.equal(await count('mounts', 'session_id = $1', [sid('alice', 301)]), 0);
    // The live node's session, port and all: untouched.
    assert.equal(await count('sessions', 'server = $1', ['node-a']), 1);
    assert.equal(await count('used_ports', 'server = $1', ['node-a']), 1);

    const events = await farm.query(
      `select session_id, uname, server, event, by_uid, node, detail from session_events where event = 'cleaned' order by session_id`,
    );
    assert.deepEqual(
      events.map((e) => [e.session_id, e.uname, e.server, e.by_uid]),
      [
        [sid('alice', 301), 'alice', 'node-c', 0],
        [sid('bob', 302), 'bob', 'node-c', 0],
      ],
    );
    const cleaners = new Set(events.map((e) => e.node));
    assert.equal(cleaners.size, 1, `cleaned by ${[...cleaners].join(', ')}`);
    const cleaner = String([...cleaners][0]);
    assert.ok(['node-a', 'node-b'].includes(cleaner));
    assert.match(String(events[0]?.detail), /node node-c down .*was R/);

    // The logs: the cleaner says what it did; the other live node never cleaned anything.
    await new Promise((r) => setTimeout(r, 200));
    const other = cleaner === 'node-a' ? 'node-b' : 'node-a';
    const cleanerLog = farm.services.get(cleaner)?.log() ?? '';
    assert.match(cleanerLog, /dead-node cleanup: node node-c is down; cleaned 2 session\(s\)/);
    assert.equal(cleanerLog.match(/dead-node cleanup: node node-c is down/g)?.length, 1, cleanerLog);
    assert.doesNotMatch(farm.services.get(other)?.log() ?? '', /is down; cleaned/);
  });

  test('the down node stays registered (down); the live nodes go on beating', async () => {
    const rows = await farm.query(`select server, now() - last_seen > interval '${NODE_TIMEOUT_S} s' as down from nodes order by server`);
    assert.deepEqual(
      rows.map((r) => [r.server, r.down]),
      [
        ['node-a', false],
        ['node-b', false],
        ['node-c', true],
      ],
    );
  });

  test('a node that comes back re-registers and is not harmed', async () => {
    const back = await farm.startNode('node-c');
    await waitFor(
      'node-c registered again',
      async () => (await farm.query(`select pid from nodes where server = 'node-c'`))[0]?.pid === back.child.pid,
      15_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; its log: ${back.log()}`);
    });
    const id = sid('bob', 304);
    assert.equal((await farm.program('x2goinsertsession', ['304', 'node-c', id], farm.users[1])).stdout, 'inserted');
    // Two node timeouts later its new session is still there.
    await new Promise((r) => setTimeout(r, (NODE_TIMEOUT_S + 2 * HEARTBEAT_S) * 1000));
    assert.equal(await count('sessions', 'session_id = $1', [id]), 1);
    assert.equal(await count('session_events', `event = 'cleaned' and session_id = $1`, [id]), 0);
  });
});
