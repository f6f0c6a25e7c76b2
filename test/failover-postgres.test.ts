// Failover, proven on a real primary and streaming standby (issue 14, item 3): two clusters of
// this test's own, replication synchronous, the server configured with host= naming both. A
// login storm runs through the resident service; mid-storm the primary is killed (SIGKILL of
// every process, as a power cut) and the standby promoted. The service goes on without a
// restart on the new primary, every login that was answered is there with its whole session,
// no session is half-made (a session holds all its ports, no port lacks its session), and
// every login begun after the promotion succeeds. Slow (about half a minute); never skipped
// in CI.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NEEDS_ROOT, NEEDS_X2GOUSER, POSTGRES } from './support/backends.js';
import type { Account } from '../src/system/accounts.js';
import {
  createFailoverFarm,
  FAILOVER_DATABASE,
  type FailoverFarm,
  failoverFigures,
  failoverStorm,
  startedSession,
} from './support/failover.js';
import { hasCompiler, hasReference } from './support/requirements.js';

const needs = POSTGRES.needs(
  NEEDS_ROOT,
  [hasCompiler, '/usr/bin/cc'],
  [hasReference, "the reference's x2gostartagent (apt-get install x2goserver)"],
  [
    existsSync('/usr/bin/pg_createcluster') && existsSync('/usr/bin/pg_basebackup'),
    'pg_createcluster and pg_basebackup (postgresql-common)',
  ],
  NEEDS_X2GOUSER,
);

describe('PostgreSQL failover: the primary dies mid-storm, the standby is promoted, the service goes on', needs.options, () => {
  let farm: FailoverFarm | undefined;

  before(async () => {
    needs.check();
    farm = await createFailoverFarm(['alice', 'bob']);
  });
  after(async () => {
    await farm?.remove();
  });

  test('host= naming the standby first: the write goes to the primary (postgres.js read-write stayed on the standby)', async () => {
    const { box, replication, users } = farm as FailoverFarm;
    const file = join(box.configDir, 'x2gosql', 'sql');
    const configured = readFileSync(file, 'utf8');
    const { primary, standby } = replication;
    writeFileSync(file, configured.replace(replication.hosts, `127.0.0.1:${standby.port},127.0.0.1:${primary.port}`));
    try {
      const r = box.x2godb(['reservesession', 'x2go-failover', '_stDfirst_dp24', '50', '3', '30000'], { as: users[0] as Account });
      assert.equal(r.code, 0, r.stderr);
      const [session] = r.stdout.trim().split(' ');
      const sql = replication.superuser(primary, FAILOVER_DATABASE);
      try {
        const rows = await sql`select session_id from sessions where session_id = ${session ?? ''}`;
        assert.equal(rows.length, 1);
      } finally {
        await sql.end();
      }
    } finally {
      writeFileSync(file, configured);
    }
  });

  test('every answered login is on the new primary, whole; none half-made; the service was never restarted', async () => {
    const run = await failoverStorm(farm as FailoverFarm, { lanes: 8, killAfter: 1500, runAfter: 2500 });
    const figures = failoverFigures(run);
    const context = `${JSON.stringify(figures)}\n${run.serviceLog}`;

    // The same service process throughout, still running, and it answered after the switch.
    assert.ok(run.serviceAlive, context);
    assert.equal((farm as FailoverFarm).service.child.pid, run.servicePid);
    const before = run.logins.filter((l) => l.end < run.died && startedSession(l));
    const afterPromotion = run.logins.filter((l) => l.start > run.promoted);
    assert.ok(before.length > 0, `no login finished before the kill: ${context}`);
    assert.ok(afterPromotion.length > 0, `no login began after the promotion: ${context}`);
    for (const l of afterPromotion) assert.ok(startedSession(l), `a login begun after the promotion failed: ${l.stderr}\n${context}`);

    // Every login that was answered is on the new primary, with its cookie and its three ports.
    for (const l of run.logins) {
      const started = startedSession(l);
      if (!started) continue;
      const row = run.census.get(started.session);
      assert.ok(
        row,
        `${started.session} (answered at ${l.end.toFixed(0)} ms, primary died at ${run.died.toFixed(0)} ms) is not on the new primary`,
      );
      assert.equal(row.display, started.display);
      assert.match(row.cookie ?? '', /^[0-9a-f]{32}$/, `${started.session}: not completed by x2gocreatesession`);
      assert.deepEqual([...row.ports].sort(), [...started.ports].sort(), `${started.session}: its ports`);
    }
    // Nothing half-made: every session holds the three ports of its reservation (one
    // transaction), no port is left without its session, nothing handed out twice.
    for (const [id, row] of run.census) assert.equal(row.ports.length, 3, `${id} holds ${row.ports.length} ports`);
    assert.equal(run.orphanPorts, 0);
    const displays = [...run.census.values()].map((r) => r.display);
    assert.equal(new Set(displays).size, displays.length, 'a display handed out twice');
    const ports = [...run.census.values()].flatMap((r) => r.ports);
    assert.equal(new Set(ports).size, ports.length, 'a port handed out twice');
    // A failed login is one the service answered with an error: x2gostartagent gave up (exit code),
    // or its x2gocreatesession failed, which x2gostartagent does not check (the message on stderr).
    for (const l of run.logins.filter((x) => !startedSession(x))) assert.ok(l.code !== 0 || l.stderr !== '', l.stdout);
    assert.ok(figures.firstSuccess !== undefined && figures.firstSuccess < 10_000, context);
  });
});
