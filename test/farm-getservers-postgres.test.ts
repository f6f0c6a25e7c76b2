// x2gogetservers keeps the reference's output for its callers ("server count" lines on
// PostgreSQL) and, with --json (ours), adds the node registry's figures: state, weight,
// capacity, the load the node's service last reported and how long ago it was seen. A user
// runs it (the registry is readable to every X2Go user's role).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hasPostgres } from './support/postgres.js';
import { isRoot, requires } from './support/requirements.js';
import { createFarm, sid, waitFor, type Farm } from './support/farm.js';

const needs = requires([isRoot, 'root'], [hasPostgres, 'PostgreSQL (apt-get install postgresql)']);

describe('x2gogetservers --json on a two-node farm', needs.options, () => {
  let farm: Farm;

  before(async () => {
    needs.check();
    farm = await createFarm('x2go_farm_getservers', ['node-a', 'node-b']);
    for (const [display, node] of [
      [701, 'node-a'],
      [702, 'node-a'],
      [703, 'node-b'],
      [704, 'node-x'],
    ] as const) {
      assert.equal(
        (await farm.program('x2goinsertsession', [String(display), node, sid('alice', display)], farm.users[0])).stdout,
        'inserted',
      );
    }
    assert.equal((await farm.program('x2go-sessiondb', ['drain', 'node-b', '--config', farm.box.configDir])).code, 0);
    await waitFor(
      'node-a reports its two sessions',
      async () => ((await farm.query(`select load->'sessions'->>'R' as r from nodes where server = 'node-a'`))[0]?.r ?? null) === '2',
      5000,
    );
  });
  after(async () => farm?.close());

  test("without --json: the reference's lines, unchanged", async () => {
    const r = await farm.program('x2gogetservers', [], farm.users[1]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').sort(), ['node-a 2', 'node-b 1', 'node-x 1']);
  });

  test('--json: each server with its count and the registry figures; a node without a service has only its count', async () => {
    const r = await farm.program('x2gogetservers', ['--json'], farm.users[1]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as Record<string, unknown>[];
    assert.deepEqual(
      json.map((s) => [s.server, s.sessions, s.state, s.weight, s.capacity]),
      [
        ['node-a', 2, 'active', 1, null],
        ['node-b', 1, 'draining', 1, null],
        ['node-x', 1, undefined, undefined, undefined],
      ],
    );
    const load = json[0]?.load as { sessions: Record<string, number>; loadPerCore: number; memAvailableBytes: number };
    assert.equal(load.sessions.R, 2);
    assert.ok(load.memAvailableBytes > 0);
    assert.ok(Number(json[0]?.secondsSinceSeen) <= 2);
    const bad = await farm.program('x2gogetservers', ['--jsn'], farm.users[1]);
    assert.deepEqual([bad.code, bad.stdout], [2, '']);
    assert.equal(bad.stderr, "x2gogetservers: unknown option '--jsn'; x2gogetservers takes only --json\n");
  });
});
