// Placement (issue 14 item 2): a scripted farm (nodes with known weights, capacities, states and
// loads; sessions per node; a limit; one suspended session per user) and the node `place`
// names for each user, with its reason; --explain lists every candidate and its score;
// --json carries the same for a broker. No service runs: the rows are the script.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPgSandbox, ensurePostgres, hasPostgres, superuser, type PgSandbox } from './support/postgres.js';
import { isRoot, requires } from './support/requirements.js';
import { DIST } from './support/sandbox.js';
import { ensureUser, runAsync } from './support/system.js';

const needs = requires([isRoot, 'root'], [hasPostgres, 'PostgreSQL (apt-get install postgresql)']);
const DB = 'x2go_farm_place';

describe('place names the server for a user’s next login', needs.options, () => {
  let box: PgSandbox;
  let sql: ReturnType<typeof superuser>;
  const place = (args: string[]) =>
    runAsync(process.execPath, [join(DIST, 'x2go-sessiondb.cjs'), 'place', ...args, '--config', box.configDir, '--hostname', 'n1'], {});
  let display = 600;
  const session = async (user: string, server: string, status: string, minutesAgo = 0) => {
    display++;
    await sql`insert into sessions (session_id, display, uname, server, status, last_time)
      values (${`${user}-${display}-1700000000_stDxfce_dp24`}, ${display}, ${user}, ${server}, ${status}, localtimestamp - make_interval(mins => ${minutesAgo}))`;
    return `${user}-${display}-1700000000_stDxfce_dp24`;
  };

  before(async () => {
    needs.check();
    ensurePostgres();
    ensureUser('alice');
    ensureUser('bob');
    box = createPgSandbox(DB, '[limit users]\nbob=2\n');
    assert.equal(box.admin(['--createdb', '--force']).code, 0);
    sql = superuser(DB);
    // n1..n3 active, n4 draining, n5 down (last seen an hour ago; node_timeout is 60 s).
    for (const [server, weight, capacity, state, ago, loadPerCore] of [
      ['n1', 1, null, 'active', 0, 0.5],
      ['n2', 2, null, 'active', 0, 0.9],
      ['n3', 1, 1, 'active', 0, 0.1],
      ['n4', 5, null, 'draining', 0, 0.0],
      ['n5', 10, null, 'active', 3600, 0.0],
    ] as const) {
      await sql`insert into nodes (server, version, weight, capacity, state, last_seen, load)
        values (${server}, '0.1.0', ${weight}, ${capacity}, ${state}, now() - make_interval(secs => ${ago}),
          (${JSON.stringify({ sessions: {}, loadPerCore, memAvailableBytes: 2 ** 30 })}::text)::jsonb)`;
    }
    // Load: n1 2 sessions, n2 3 (+ alice's suspended one = 4), n3 1 (full), n5 1. A finished one counts nowhere.
    await session('carol', 'n1', 'R');
    await session('dave', 'n1', 'R');
    await session('carol', 'n2', 'R');
    await session('dave', 'n2', 'R');
    await session('erin', 'n2', 'R');
    await session('erin', 'n3', 'R');
    await session('erin', 'n1', 'F');
    // One suspended session per user: alice's on n2 (and an older one on n3), bob's on n5 (down).
    await session('alice', 'n3', 'S', 30);
    await session('alice', 'n2', 'S', 5);
    await session('bob', 'n5', 'S', 1);
    await session('bob', 'n1', 'R');
  });
  after(async () => {
    await sql?.end();
    await box?.drop();
  });

  test('resume affinity: the node holding the user’s latest suspended session', async () => {
    const r = await place(['--user', 'alice']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^n2: resume affinity: alice's suspended session alice-\d+-1700000000_stDxfce_dp24 is on n2\n$/);
  });

  test('no suspended session: the active node with room and the lowest weighted load', async () => {
    // n1 (2+1)/1 = 3, n2 (4+1)/2 = 2.5, n3 full, n4 draining, n5 down.
    const r = await place(['--user', 'carol', '--explain']);
    assert.equal(r.code, 0, r.stderr);
    const [first, header, ...rows] = r.stdout.trimEnd().split('\n');
    assert.equal(first, 'n2: lowest weighted load: (4 sessions + 1) / weight 2 = 2.50 among 2 active node(s) with room');
    assert.match(header ?? '', /^SERVER\s+STATE\s+SESSIONS\s+CAPACITY\s+WEIGHT\s+SCORE\s+LOAD\/CORE\s+MEM AVAILABLE\s+NOTE$/);
    const cells = rows.map((l) => l.split(/\s{2,}/));
    assert.match(cells[1]?.pop() ?? '', /^down \(not seen for 360\d s\)$/);
    assert.deepEqual(cells, [
      ['n4', 'draining', '0', '-', '5', '0.20', '0.00', '1.0 GiB', 'draining'],
      ['n5', 'down', '1', '-', '10', '0.20', '0.00', '1.0 GiB'],
      ['n2', 'active', '4', '-', '2', '2.50', '0.90', '1.0 GiB', 'chosen'],
      ['n3', 'active', '2', '1', '1', '3.00', '0.10', '1.0 GiB', 'at capacity (2/1)'],
      ['n1', 'active', '3', '-', '1', '4.00', '0.50', '1.0 GiB', '-'],
    ]);
  });

  test('a weight changes the choice; equal scores go to the lower load per core', async () => {
    const weight = await runAsync(process.execPath, [join(DIST, 'x2go-sessiondb.cjs'), 'weight', 'n1', '2', '--config', box.configDir]);
    assert.equal(weight.code, 0, weight.stderr);
    // n1 (3+1)/2 = 2 now beats n2's 2.5.
    assert.match((await place(['--user', 'carol'])).stdout, /^n1: lowest weighted load: \(3 sessions \+ 1\) \/ weight 2 = 2\.00/);
    // n2 at weight 2.5: (4+1)/2.5 = 2, a tie with n1; n1's load per core (0.5) is lower than n2's (0.9).
    await sql`update nodes set weight = 2.5 where server = 'n2'`;
    assert.match((await place(['--user', 'carol'])).stdout, /^n1: /);
    await sql`update nodes set load = jsonb_set(load, '{loadPerCore}', '0.2') where server = 'n2'`;
    assert.match((await place(['--user', 'carol'])).stdout, /^n2: /);
  });

  test('a suspended session on a down node is not resumed; a user at the limit goes nowhere', async () => {
    // bob: suspended on n5 (down), one running on n1: 2 of his 2. Exit 1, the reason says why.
    const r = await place(['--user', 'bob']);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /^nowhere: bob holds 2 unfinished session\(s\) and may hold 2 \(x2goserver.conf \[limit users\]\/\[limit groups\]\): no new session anywhere \(not resuming bob-\d+-1700000000_stDxfce_dp24 on n5, which is down\)\n$/,
    );
    writeFileSync(join(box.configDir, 'x2goserver.conf'), '[limit users]\nbob=3\n');
    assert.match((await place(['--user', 'bob'])).stdout, /^n2: lowest weighted load/);
  });

  test('--json: what a broker reads', async () => {
    const r = await place(['--user', 'alice', '--json']);
    const json = JSON.parse(r.stdout) as {
      server: string;
      kind: string;
      sessionId: string;
      candidates: { server: string; score: number; eligible: boolean }[];
    };
    assert.equal(json.server, 'n2');
    assert.equal(json.kind, 'resume');
    assert.match(json.sessionId, /^alice-/);
    assert.deepEqual(
      json.candidates
        .filter((c) => c.eligible)
        .map((c) => c.server)
        .sort(),
      ['n1', 'n2'],
    );
    const bad = await place(['--json']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'x2go-sessiondb: place needs --user U\n');
  });
});
