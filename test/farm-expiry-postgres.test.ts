// Issue 12, item 4: expiry of suspended sessions. [sessiond] suspended_max_age= with per-user and
// per-group values (x2goserver.conf, in the style of [limit users]/[limit groups]): the node's
// service terminates its own sessions suspended longer than their user's limit through X2Go's
// normal path (x2goterminate-session as the session's user; a stand-in on PATH records it, test
// only), after an 'expired' event in the history. Running sessions, younger ones, users whose
// limit is off, and other nodes' sessions are left alone.

import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hasPostgres } from './support/postgres.js';
import { isRoot, requires } from './support/requirements.js';
import { createFarm, sid, waitFor, type Farm } from './support/farm.js';
import { scratchDir } from './support/scratch.js';

const needs = requires([isRoot, 'root'], [hasPostgres, 'PostgreSQL (apt-get install postgresql)']);

describe('expiry of suspended sessions ([sessiond] suspended_max_age, PostgreSQL)', needs.options, () => {
  let farm: Farm;
  let record: string;
  const EXPIRED = sid('alice', 701);
  const RECENT = sid('alice', 702);
  const BOB_NEVER = sid('bob', 703);
  const RUNNING = sid('alice', 704);
  const OTHER_NODE = sid('alice', 705);

  before(async () => {
    needs.check();
    const bin = scratchDir('x2godb-expiry-');
    chmodSync(bin, 0o755);
    record = join(bin, 'record');
    writeFileSync(record, '', { mode: 0o666 });
    chmodSync(record, 0o666);
    writeFileSync(join(bin, 'x2goterminate-session'), `#!/bin/sh\necho "uid=$(id -u) args=$*" >> ${record}\n`, { mode: 0o755 });
    farm = await createFarm('x2go_farm_expiry', [], () => ({ PATH: `${bin}:${process.env.PATH ?? ''}` }));
    appendFileSync(
      join(farm.box.configDir, 'x2goserver.conf'),
      '[sessiond]\nsuspended_max_age=1h\n[suspended_max_age users]\nbob=off\n[suspended_max_age groups]\nnobody-here=10m\n',
    );
    const [alice, bob] = farm.users as [NonNullable<Farm['users'][0]>, NonNullable<Farm['users'][0]>];
    for (const [user, display, node, status, hoursAgo] of [
      [alice, 701, 'node-a', 'S', 2],
      [alice, 702, 'node-a', 'S', 0],
      [bob, 703, 'node-a', 'S', 2],
      [alice, 704, 'node-a', 'R', 2],
      [alice, 705, 'node-b', 'S', 2],
    ] as const) {
      const id = sid(user.name, display);
      assert.equal((await farm.program('x2goinsertsession', [String(display), node, id], user)).stdout, 'inserted');
      if (status === 'S') assert.equal((await farm.program('x2gochangestatus', ['S', id], user)).code, 0);
      await farm.query(`update sessions set last_time = localtimestamp - make_interval(hours => $1::int) where session_id = $2`, [
        hoursAgo,
        id,
      ]);
    }
    await farm.startNode('node-a');
  });
  after(async () => farm?.close());

  test("node-a terminates its session suspended past the user's limit, as that user, after an 'expired' event", async () => {
    const alice = farm.users[0];
    await waitFor('the expired session terminated', async () => readFileSync(record, 'utf8').includes(EXPIRED), 10_000).catch((err) => {
      throw new Error(`${(err as Error).message}; node-a's log:\n${farm.services.get('node-a')?.log()}`);
    });
    // Two more cycles: nothing else is terminated, and the expired one not again.
    await new Promise((r) => setTimeout(r, 2500));
    assert.deepEqual(readFileSync(record, 'utf8').trimEnd().split('\n'), [`uid=${alice?.uid} args=${EXPIRED}`]);
    const events = await farm.query<{ session_id: string; node: string; detail: string }>(
      "select session_id, node, detail from session_events where event = 'expired'",
    );
    assert.deepEqual(
      events.map((e) => [e.session_id, e.node]),
      [[EXPIRED, 'node-a']],
    );
    assert.match(events[0]?.detail ?? '', /^suspended \d+ s, longer than suspended_max_age 3600 s$/);
    for (const kept of [RECENT, BOB_NEVER, RUNNING, OTHER_NODE]) assert.ok(!readFileSync(record, 'utf8').includes(kept), kept);
    assert.match(
      farm.services.get('node-a')?.log() ?? '',
      /expiry: alice-701-\S+ of alice suspended for \d+ s \(limit 3600 s\): terminated/,
    );
  });
});
