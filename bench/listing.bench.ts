// What a connected client's polling costs (issue 15): x2golistsessions and
// x2golistshadowsessions as alice holding 1, 10 and 100 sessions (each with its agent's state
// file saying RUNNING, so that both implementations read every file and change nothing), the
// reference's Perl programs against ours through the installed launcher and the resident
// service, with /bin/true (a process's own start-up) and a helper through the service
// (x2gogetdisplays) as yardsticks, in one run, on SQLite and PostgreSQL.
//
//   sudo npm run bench:listing               (both backends; or -- sqlite, -- postgres)
//
// Needs root, x2goserver (libdbd-pg-perl, pwgen, postgresql for PostgreSQL), cc. Every call is
// a fresh process timed from its fork to its exit by bench/timeit.c, as alice, the reference and
// ours alternating; medians of BENCH_ROUNDS (21) calls.
//
// Bars: ours at least 20x faster than the reference, and within 3x of /bin/true on SQLite (5x
// on PostgreSQL), median. Exit code 1 when a bar is missed.

import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Account } from '../src/system/accounts.js';
import { type BackendUnderTest, POSTGRES, SQLITE } from '../test/support/backends.js';
import { installLauncher } from '../test/support/launcher.js';
import { dropDatabase, hasPostgres, PG_ADMIN_PASSWORD, shareServiceLogin } from '../test/support/postgres.js';
import { startService } from '../test/support/service.js';
import { DEFAULT_SOCKET } from '../src/service/protocol.js';
import { freshReferenceDb, REFERENCE_PG_DB, runReference, useReferencePostgres } from '../test/support/reference.js';
import { hasCompiler, hasReference, isRoot } from '../test/support/requirements.js';
import { LOAD_TEST_QUOTA, setQuota } from '../test/support/sandbox.js';
import { ensureUser, run, timeWith, type Result } from '../test/support/system.js';
import { runBenchmark } from './run.js';
import { buildTimeit } from './timeit.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const COUNTS = [1, 10, 100];
const COOKIE = '378b0cdbb51fe1b8147f43a2bccb514d';
const BAR_REFERENCE = 20;
const BAR_TRUE: Record<string, number> = { sqlite: 3, postgres: 5 };
const SRV = hostname();
const sid = (i: number) => `alice-${100 + i}-17${String(i).padStart(8, '0')}_stDxfce_dp24`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

let timeit = '';

function timed(fn: () => Result, label: string): number {
  timeWith(timeit);
  let r: Result;
  try {
    r = fn();
  } finally {
    timeWith(undefined);
  }
  if (r.code !== 0) throw new Error(`${label} failed (exit ${r.code}): ${r.stderr.trim()}`);
  if (r.ms === undefined) throw new Error(`${label}: not timed by timeit`);
  return r.ms;
}

/** Each session's state file, as the agent leaves it while it runs. */
function writeStates(alice: Account, upTo: number): void {
  const base = '/tmp/.x2go-alice';
  mkdirSync(base, { recursive: true, mode: 0o700 });
  chownSync(base, alice.uid, alice.gid);
  for (let i = 0; i < upTo; i++) {
    const dir = join(base, `C-${sid(i)}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'state'), 'RUNNING');
    chownSync(dir, alice.uid, alice.gid);
    chownSync(join(dir, 'state'), alice.uid, alice.gid);
  }
}

/**
 * The reference's database: made by its own x2godbadmin; on PostgreSQL, when that cannot drop and
 * remake the role x2godbuser (another database of the cluster holds objects of it), by ours on the
 * same configuration, which keeps the role (the reference's programs run on it as on a mixed farm).
 */
async function referenceDb(kind: 'sqlite' | 'postgres'): Promise<() => void> {
  try {
    return await freshReferenceDb(kind, ['alice']);
  } catch (err) {
    if (kind !== 'postgres') throw err;
    console.error(`the reference's x2godbadmin --createdb failed; making x2go_sessions with ours: ${String(err).split('\n')[0]}`);
    const restoreConfig = useReferencePostgres(PG_ADMIN_PASSWORD);
    dropDatabase(REFERENCE_PG_DB);
    // As freshReferenceDb's own restore: the database goes with the configuration.
    const restore = () => {
      restoreConfig();
      dropDatabase(REFERENCE_PG_DB);
    };
    const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
    for (const args of [
      ['--createdb', '--force'],
      ['--adduser', 'alice'],
    ]) {
      const r = run(process.execPath, [join(dist, 'x2godbadmin.cjs'), ...args]);
      if (r.code !== 0) {
        restore();
        throw new Error(`x2godbadmin ${args.join(' ')}: ${r.stderr}`);
      }
    }
    return restore;
  }
}

async function bench(backend: BackendUnderTest, alice: Account, rows: string[][]): Promise<number> {
  let missed = 0;
  const restore = await referenceDb(backend.kind);
  const db = await backend.createDatabase({ database: 'x2go_bench_listing', users: ['alice'], serviceLogin: true });
  setQuota(db.configDir, LOAD_TEST_QUOTA);
  const inst = installLauncher(db, { service: true });
  try {
    const env = { PATH: '/usr/local/bin:/usr/bin:/bin' };
    const as = { as: alice, env };
    const truth = median(Array.from({ length: ROUNDS }, () => timed(() => run('/bin/true', [], as), '/bin/true')));
    const helper = median(
      Array.from({ length: ROUNDS }, () => timed(() => inst.helper('x2gogetdisplays', [SRV], alice, env), 'x2gogetdisplays')),
    );
    rows.push([backend.kind, '/bin/true', '-', truth.toFixed(2), '-', '1.0x', '-']);
    rows.push([backend.kind, 'x2gogetdisplays (helper, via service)', '-', helper.toFixed(2), '-', `${(helper / truth).toFixed(1)}x`, '-']);
    let made = 0;
    for (const count of COUNTS) {
      for (; made < count; made++) {
        const args = [
          sid(made),
          COOKIE,
          String(3000000 + made),
          '10.1.2.3',
          ...[1, 2, 3].map((p) => String(30000 + made * 3 + p)),
          '-1',
          '-1',
        ];
        for (const [program, a] of [
          ['x2goinsertsession', [String(100 + made), SRV, sid(made)]],
          ['x2gocreatesession', args],
        ] as [string, string[]][]) {
          const r = runReference(program, a, alice);
          const o = inst.helper(program, a, alice, env);
          if (r.code !== 0 || o.code !== 0) throw new Error(`${program}: ${r.stderr}${o.stderr}`);
        }
      }
      writeStates(alice, count);
      for (const program of ['x2golistsessions', 'x2golistshadowsessions']) {
        const theirs: number[] = [];
        const ours: number[] = [];
        for (let i = 0; i < ROUNDS; i++) {
          theirs.push(timed(() => run(`/usr/bin/${program}`, [], as), `reference ${program}`));
          ours.push(timed(() => inst.helper(program, [], alice, env), `our ${program}`));
        }
        const [t, o] = [median(theirs), median(ours)];
        const vsRef = t / o;
        const vsTrue = o / truth;
        const ok = vsRef >= BAR_REFERENCE && vsTrue <= (BAR_TRUE[backend.kind] ?? 3);
        if (!ok) missed++;
        rows.push([
          backend.kind,
          `${program}, ${count} session(s)`,
          t.toFixed(1),
          o.toFixed(2),
          `${vsRef.toFixed(1)}x`,
          `${vsTrue.toFixed(1)}x`,
          ok ? `ok (>= ${BAR_REFERENCE}x, <= ${BAR_TRUE[backend.kind]}x)` : 'MISSED',
        ]);
      }
    }
  } finally {
    rmSync('/tmp/.x2go-alice', { recursive: true, force: true });
    await inst.service?.stop();
    restore();
    await db.drop();
  }
  return missed;
}

/**
 * Item 3 of issue 15: the reference's other Perl programs that use the database, per call after
 * `x2go-sessiondb install` with the service running (and x2golistsessions, now ours, beside
 * them): what each still costs. x2gomountdirs mounts over sshfs, which needs a client; its Perl
 * start-up with its modules and one database call is timed instead. x2gocleansessions is a
 * daemon: what it runs every 2 s is x2golistsessions_sql, then x2gogetstatus per session.
 */
async function consumers(backend: BackendUnderTest, alice: Account, rows: string[][]): Promise<void> {
  const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
  const sessiondb = (args: string[]) => run(join(dist, 'x2go-sessiondb.cjs'), args);
  const restore = await referenceDb(backend.kind);
  const A1 = sid(0);
  try {
    runReference('x2goinsertsession', ['100', SRV, A1], alice);
    runReference('x2gocreatesession', [A1, COOKIE, '3999991', '10.1.2.3', '30001', '30002', '30003', '-1', '-1'], alice);
    const installed = sessiondb(['install']);
    if (installed.code !== 0) throw new Error(`x2go-sessiondb install: ${installed.stderr}`);
    try {
      if (backend.kind === 'postgres') shareServiceLogin('/etc/x2go');
      const service = await startService('/etc/x2go', DEFAULT_SOCKET);
      try {
        const env = { PATH: '/usr/local/bin:/usr/bin:/bin' };
        const programs: [string, string, string[], Account | undefined][] = [
          ['x2golistsessions (ours now)', '/usr/bin/x2golistsessions', [], alice],
          ['x2golistmounts', '/usr/bin/x2golistmounts', [A1], alice],
          ['x2goumount-session (no mounts)', '/usr/bin/x2goumount-session', [A1], alice],
          ['x2gomountdirs: its Perl modules and one DB call, without sshfs', '/usr/bin/perl', ['-e', MOUNTDIRS_START, A1], alice],
          ['x2golistsessions_root (root)', '/usr/sbin/x2golistsessions_root', [], undefined],
          ['x2gocleansessions, each 2 s: x2golistsessions_sql (root)', '/usr/lib/x2go/x2golistsessions_sql', [SRV], undefined],
          ['x2gocleansessions, each 2 s and session: x2gogetstatus (root)', '/usr/lib/x2go/x2gogetstatus', [A1], undefined],
        ];
        for (const [label, file, args, who] of programs) {
          const ms = median(
            Array.from({ length: ROUNDS }, () => timed(() => run(file, args, { ...(who ? { as: who } : {}), env }), label)),
          );
          rows.push([`${backend.kind} drop-in`, label, '-', ms.toFixed(1), '-', '-', '-']);
        }
      } finally {
        await service.stop();
        rmSync(dirname(DEFAULT_SOCKET), { recursive: true, force: true });
      }
    } finally {
      sessiondb(['uninstall']);
    }
  } finally {
    // Drops x2go_sessions from the test cluster too.
    restore();
  }
}

/** What x2gomountdirs loads, and its first database call (db_insertmount's neighbour, read-only). */
const MOUNTDIRS_START = `
use strict; use X2Go::Config qw(get_config); use X2Go::Server::DB qw(db_insertmount db_deletemount db_getmounts);
use X2Go::Utils qw(source_environment system_capture_merged_output); use X2Go::Log qw(loglevel);
my @m = db_getmounts(shift);
`;

function printTable(rows: string[][]): void {
  const header = [
    'backend',
    'call (fresh process, as alice)',
    'reference ms',
    'ours via service ms',
    'vs reference',
    'vs /bin/true',
    'bar',
  ];
  const table = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
  for (const r of table) console.log(`| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`);
  console.log('');
}

async function main(): Promise<number> {
  const wanted = process.argv[2] ?? 'all';
  if (!['all', 'sqlite', 'postgres'].includes(wanted)) {
    console.error(`bench: unknown backend ${JSON.stringify(wanted)}; one of: all, sqlite, postgres`);
    return 2;
  }
  const backends = [SQLITE, POSTGRES].filter((b) => wanted === 'all' || wanted === b.kind);
  if (!isRoot || !hasReference || !hasCompiler || (backends.includes(POSTGRES) && !hasPostgres)) {
    console.error(
      'bench: needs root, the reference (apt-get install x2goserver libdbd-pg-perl pwgen), /usr/bin/cc and, for PostgreSQL, postgresql',
    );
    return 2;
  }
  const alice = ensureUser('alice');
  timeit = buildTimeit();
  const rows: string[][] = [];
  let missed = 0;
  for (const backend of backends) {
    try {
      missed += await bench(backend, alice, rows);
    } catch (err) {
      console.error(`${backend.kind}: ${String(err)}`);
      missed++;
    }
    printTable(rows);
  }
  if (process.env.BENCH_CONSUMERS !== '0') {
    for (const backend of backends) {
      try {
        await consumers(backend, alice, rows);
      } catch (err) {
        console.error(`${backend.kind} drop-in rows: ${String(err)}`);
        missed++;
      }
    }
  }
  printTable(rows);
  console.log(missed ? `\n${missed} bar(s) missed` : '\nall bars met');
  return missed ? 1 : 0;
}

runBenchmark(main);
