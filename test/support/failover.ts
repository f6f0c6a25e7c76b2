// A login storm through the resident service while the PostgreSQL primary dies and its standby
// is promoted: what the failover suite asserts and the failover benchmark prints. The server is
// configured as a farm would be for failover (host= naming the primary and the standby), the
// service is started once and never restarted, and lanes of starters (x2gostartagent's own
// database code, patched as installed; see startagent.ts) run logins one after another as
// real users until the storm ends. The primary is killed with SIGKILL mid-storm and the standby
// promoted at once, as a failover manager would.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Account } from '../../src/system/accounts.js';
import { installLauncher, type Installed } from './launcher.js';
import { createPgSandbox, type PgSandbox } from './postgres.js';
import { createReplication, type Replication } from './replication.js';
import { LOAD_TEST_QUOTA, setQuota } from './sandbox.js';
import { startService, type RunningService } from './service.js';
import { makeStarters, type Starters } from './startagent.js';
import { ensureUser, runAsync } from './system.js';

export const FAILOVER_DATABASE = 'x2go_failover';
const HOST = 'x2go-failover';

export interface Login {
  /** ms since the storm began. */
  start: number;
  end: number;
  code: number;
  stdout: string;
  stderr: string;
}

export interface FailoverRun {
  logins: Login[];
  /** ms since the storm began: the primary's port closed (every process killed). */
  died: number;
  /** ms: the standby left recovery. */
  promoted: number;
  /** The service's pid before the kill and after the storm, and whether it is still running. */
  servicePid: number | undefined;
  serviceAlive: boolean;
  /** Sessions and their ports on the new primary. */
  census: Map<string, { display: number; cookie: string | null; ports: number[] }>;
  /** used_ports rows whose session is not there. */
  orphanPorts: number;
  /** What the service answered (its counters). */
  stats: { requests: number; failed: number };
  serviceLog: string;
}

export interface FailoverFarm {
  replication: Replication;
  box: PgSandbox;
  inst: Installed;
  service: RunningService;
  starters: Starters;
  users: Account[];
  remove(): Promise<void>;
}

function admin(box: PgSandbox, args: string[]): void {
  const r = box.admin(args);
  if (r.code !== 0) throw new Error(`x2godbadmin ${args.join(' ')}: ${r.stderr}`);
}

/** The clusters, a server configured for both, its database and users, launcher and service. */
export async function createFailoverFarm(userNames: readonly string[]): Promise<FailoverFarm> {
  const replication = await createReplication();
  const box = createPgSandbox(FAILOVER_DATABASE);
  let service: RunningService | undefined;
  let starters: Starters | undefined;
  try {
    mkdirSync(join(box.configDir, 'x2gosql', 'passwords'), { recursive: true });
    writeFileSync(
      join(box.configDir, 'x2gosql', 'sql'),
      `backend=postgres\n\n[postgres]\nhost=${replication.hosts}\ndbadmin=postgres\nssl=prefer\ndatabase=${FAILOVER_DATABASE}\n`,
    );
    setQuota(box.configDir, LOAD_TEST_QUOTA);
    const users = userNames.map((u) => ensureUser(u));
    // The database, the service's role and the users' roles, made on the primary and streamed
    // to the standby with everything else.
    admin(box, ['--createdb', '--force']);
    for (const u of userNames) admin(box, ['--adduser', u]);
    const inst = installLauncher(box, { service: false });
    service = await startService(box.configDir, inst.socket);
    starters = makeStarters();
    const made = { service, starters };
    return {
      replication,
      box,
      inst,
      service,
      starters,
      users,
      remove: async () => {
        await made.service.stop();
        made.starters.remove();
        replication.remove();
        box.remove();
      },
    };
  } catch (err) {
    await service?.stop();
    starters?.remove();
    replication.remove();
    box.remove();
    throw err;
  }
}

export interface StormOptions {
  /** Logins running at once. */
  lanes: number;
  /** ms of storm before the primary is killed. */
  killAfter: number;
  /** ms of storm after the promotion. */
  runAfter: number;
}

/** Runs the storm, kills the primary and promotes the standby during it, and takes the census. */
export async function failoverStorm(farm: FailoverFarm, options: StormOptions): Promise<FailoverRun> {
  const { replication, inst, service, starters, users } = farm;
  const lib = starters.libPath(join(inst.prefix, 'helpers'));
  const env = { X2GO_LIB_PATH: lib, X2GO_STORM_HOST: HOST, X2GO_SESSIONDB_RESERVE: join(inst.prefix, 'helpers', 'x2goreservesession') };
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const logins: Login[] = [];
  let stopping = false;
  const lane = async (i: number) => {
    for (let n = 0; !stopping; n++) {
      const start = now();
      const r = await runAsync('/bin/bash', [starters.patched], { as: users[(i + n) % users.length] as Account, env });
      logins.push({ start, end: now(), code: r.code, stdout: r.stdout, stderr: r.stderr });
    }
  };
  const servicePid = service.child.pid;
  const lanes = Array.from({ length: options.lanes }, (_, i) => lane(i));
  await new Promise((r) => setTimeout(r, options.killAfter));
  await replication.killPrimary();
  const died = now();
  await replication.promoteStandby();
  const promoted = now();
  await new Promise((r) => setTimeout(r, options.runAfter));
  stopping = true;
  await Promise.all(lanes);

  const sql = replication.superuser(replication.standby, FAILOVER_DATABASE);
  try {
    const rows = await sql`select session_id, display, cookie from sessions`;
    const ports = await sql`select session_id, port from used_ports`;
    const census: FailoverRun['census'] = new Map(
      rows.map((r) => [
        String(r.session_id),
        { display: Number(r.display), cookie: r.cookie === null ? null : String(r.cookie).trim(), ports: [] as number[] },
      ]),
    );
    let orphanPorts = 0;
    for (const p of ports) {
      const session = census.get(String(p.session_id));
      if (session) session.ports.push(Number(p.port));
      else orphanPorts++;
    }
    // A service that died answers nothing: the suite then fails on serviceAlive, with its log.
    const stats = await service.stats().catch(() => ({ requests: -1, failed: -1 }));
    return {
      logins: logins.sort((a, b) => a.start - b.start),
      died,
      promoted,
      servicePid,
      serviceAlive: service.child.exitCode === null && service.child.signalCode === null,
      census,
      orphanPorts,
      stats: { requests: stats.requests, failed: stats.failed },
      serviceLog: service.log(),
    };
  } finally {
    await sql.end();
  }
}

/**
 * A login's session line: display, session id, ports; undefined for a failed login. The
 * reference's x2gostartagent does not check x2gocreatesession's exit code, so a start whose
 * x2gocreatesession failed (its message on stderr) exits 0 all the same: failed too.
 */
export function startedSession(login: Login): { display: number; session: string; ports: number[] } | undefined {
  const [display, session, ...ports] = login.stdout.trim().split(' ');
  if (login.code !== 0 || login.stderr !== '' || !session) return undefined;
  return { display: Number(display), session, ports: ports.map(Number) };
}

/** The figures the benchmark prints and the suite bounds. */
export function failoverFigures(run: FailoverRun): {
  /** ms from the primary's death to the end of the first login begun after it that succeeded. */
  firstSuccess: number | undefined;
  /** ms from the death to the promotion's end. */
  promotion: number;
  /** Logins that overlapped the outage (death to first success) and failed. */
  failedDuring: number;
  failed: number;
  ok: number;
  /** What the failed logins said, counted by message. */
  why: Record<string, number>;
} {
  const after = run.logins.filter((l) => l.start >= run.died && startedSession(l));
  const firstEnd = after.length ? Math.min(...after.map((l) => l.end)) : undefined;
  const windowEnd = firstEnd ?? Number.POSITIVE_INFINITY;
  const failed = run.logins.filter((l) => !startedSession(l));
  return {
    firstSuccess: firstEnd === undefined ? undefined : firstEnd - run.died,
    promotion: run.promoted - run.died,
    failedDuring: failed.filter((l) => l.end >= run.died && l.start <= windowEnd).length,
    failed: failed.length,
    ok: run.logins.length - failed.length,
    why: failed.reduce<Record<string, number>>((acc, l) => {
      // The message without the session id it names.
      const line = (l.stderr.trim().split('\n').at(-1) ?? `exit ${l.code}`).replace(/\S+-\d+-\d+_st\S*/g, '<session>');
      acc[line] = (acc[line] ?? 0) + 1;
      return acc;
    }, {}),
  };
}
