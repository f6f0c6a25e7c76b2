// Helper-call latency, ours against the Perl reference, in one run on this machine.
//
//   sudo npm run bench          (needs root, x2goserver installed, cc)
//
// Every call is a fresh process, as when x2goserver's scripts run them: the reference's helper
// (Perl, which runs its setgid wrapper, which runs Perl again) against ours (the setgid launcher
// under the same name, which runs Node once). Calls alternate between the two so that the
// machine's load hits both alike. Users' calls run as a real user; root's as root. Then each
// database gets the same 10,000 sessions and the listings are timed.
//
// Bars (issue #2): every helper call at least 2x faster than the reference's (median), and
// listing 10,000 sessions under 150 ms. The exit code is 1 when a bar is missed. The wrapper's
// own rows are shown without a bar: the reference's wrapper alone skips the Perl helper and
// DB.pm around it (and x2gopath), so it is the reference's cheapest path, not a helper call.

import { copyFileSync, chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WRAPPER_NAME } from '../src/install/install-launcher.js';
import { lookupGroupId, type Account } from '../src/system/accounts.js';
import { installLauncher } from '../test/support/launcher.js';
import { installReferenceDb, preserveReferenceDb, REFERENCE_DB, runReference } from '../test/support/reference.js';
import { hasCompiler, hasReference, isRoot } from '../test/support/requirements.js';
import { createSandbox } from '../test/support/sandbox.js';
import { ensureUser, run, type Result } from '../test/support/system.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const LIST_ROUNDS = 7;
const SRV = 'x2go-bench';
const COOKIE = '378b0cdbb51fe1b8147f43a2bccb514d';
const BAR_RATIO = 2;
const BAR_LIST_MS = 150;

if (!isRoot || !hasReference || !hasCompiler) {
  console.error('bench: needs root, the reference (apt-get install x2goserver) and /usr/bin/cc');
  process.exit(2);
}

interface Call {
  label: string;
  /** Whether the 2x bar applies (helper calls) or the row is for information (the bare wrapper). */
  bar: boolean;
  /** Program name as the reference has it; 'wrapper' is libx2go-server-db-sqlite3-wrapper. */
  program: string;
  user: 'alice' | 'root';
  /** Arguments for round i (values that must be new each time depend on i). */
  args(i: number): string[];
}

const A = 'alice-51-1700000051_stDxfce_dp24';
const sid = (display: number, type = 'D') => `alice-${display}-17${String(display).padStart(8, '0')}_st${type}xfce_dp24`;
const share = (display: number) => `bob-${display}-17${String(display).padStart(8, '0')}_stS1XSHADaliceXSHADPP51_dp24`;

const CALLS: Call[] = [
  { label: 'x2goinsertsession', bar: true, program: 'x2goinsertsession', user: 'alice', args: (i) => [String(100 + i), SRV, sid(100 + i)] },
  { label: 'x2goinsertport', bar: true, program: 'x2goinsertport', user: 'alice', args: (i) => [SRV, A, String(31000 + i)] },
  { label: 'x2gocreatesession', bar: true, program: 'x2gocreatesession', user: 'alice', args: () => [A, COOKIE, '3999991', '10.1.2.3', '30001', '30002', '30003', '-1', '-1'] },
  { label: 'x2gogetdisplays', bar: true, program: 'x2gogetdisplays', user: 'alice', args: () => [SRV] },
  { label: 'x2gogetports', bar: true, program: 'x2gogetports', user: 'alice', args: () => [SRV] },
  { label: 'x2gogetservers', bar: true, program: 'x2gogetservers', user: 'alice', args: () => [] },
  { label: 'x2gogetstatus', bar: true, program: 'x2gogetstatus', user: 'alice', args: () => [A] },
  { label: 'x2gogetagent', bar: true, program: 'x2gogetagent', user: 'alice', args: () => [A] },
  { label: 'x2gochangestatus', bar: true, program: 'x2gochangestatus', user: 'alice', args: (i) => [i % 2 ? 'R' : 'S', A] },
  { label: 'x2goresume', bar: true, program: 'x2goresume', user: 'alice', args: () => ['10.1.2.4', A, '30001', '30002', '30003'] },
  { label: 'x2gormport', bar: true, program: 'x2gormport', user: 'alice', args: (i) => [SRV, A, String(31000 + i)] },
  { label: 'x2goinsertshadowsession', bar: true, program: 'x2goinsertshadowsession', user: 'alice', args: (i) => [String(300 + i), SRV, share(300 + i), 'bob'] },
  { label: 'x2gocreateshadowsession', bar: true, program: 'x2gocreateshadowsession', user: 'alice', args: (i) => [share(300 + i), COOKIE, '3999992', SRV, '30011', '30012', '30013', 'bob'] },
  { label: 'wrapper listsessions', bar: false, program: 'wrapper', user: 'alice', args: () => ['listsessions', SRV] },
  { label: 'wrapper insertmount', bar: false, program: 'wrapper', user: 'alice', args: (i) => ['insertmount', A, `/tmp/.x2go-alice/media/disk/_d${i}`, '10.1.2.4'] },
  { label: 'wrapper getmounts', bar: false, program: 'wrapper', user: 'alice', args: () => ['getmounts', A] },
  { label: 'x2golistsessions_sql (root)', bar: true, program: 'x2golistsessions_sql', user: 'root', args: () => [SRV] },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function timed(fn: () => Result, label: string): number {
  const start = process.hrtime.bigint();
  const r = fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.code !== 0) throw new Error(`${label} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return ms;
}

/** The same 10,000 sessions of alice in a database file, as the reference would have written them. */
function fill(file: string, count: number): void {
  const db = new Database(file);
  const insert = db.prepare(
    `insert into sessions (session_id, display, uname, server, client, status, init_time, last_time, cookie,
       agent_pid, gr_port, sound_port, fs_port, tekictrl_port, tekidata_port)
     values (?, ?, 'alice', ?, '10.9.8.7', 'R', datetime('now','localtime'), datetime('now','localtime'), ?, ?, 1, 2, 3, -1, -1)`,
  );
  db.transaction(() => {
    for (let i = 0; i < count; i++) insert.run(sid(2000 + i), 2000 + i, SRV, COOKIE, 100000 + i);
  })();
  db.close();
}

const restore = preserveReferenceDb();
const scratch = mkdtempSync(join(tmpdir(), 'x2godb-bench-'));
const box = createSandbox('x2godb-bench-');
try {
  const users: Record<'alice' | 'root', Account | undefined> = { alice: ensureUser('alice'), root: undefined };
  ensureUser('bob');
  const made = run('/usr/sbin/x2godbadmin', ['--createdb']);
  if (made.code !== 0) throw new Error(`reference x2godbadmin --createdb: ${made.stderr}`);
  const initial = join(scratch, 'initial.db');
  copyFileSync(REFERENCE_DB, initial);
  box.admin(['--createdb']);
  copyFileSync(initial, box.dbPath);
  chownSync(box.dbPath, 0, lookupGroupId('x2gouser') ?? 0);
  chmodSync(box.dbPath, 0o660);
  const inst = installLauncher(box);

  const theirs = (program: string, args: string[], user: Account | undefined) =>
    runReference(program === 'wrapper' ? 'libx2go-server-db-sqlite3-wrapper' : program, args, user);
  const ours = (program: string, args: string[], user: Account | undefined) =>
    inst.helper(program === 'wrapper' ? WRAPPER_NAME : program, args, user);

  // The session the calls work on, in both databases.
  installReferenceDb(initial);
  for (const run of [theirs, ours]) {
    run('x2goinsertsession', ['51', SRV, A], users.alice);
    run('x2gocreatesession', [A, COOKIE, '3999991', '10.1.2.3', '30001', '30002', '30003', '-1', '-1'], users.alice);
  }

  const rows: string[][] = [];
  let missed = 0;
  for (const call of CALLS) {
    const ref: number[] = [];
    const mine: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const user = users[call.user];
      ref.push(timed(() => theirs(call.program, call.args(i), user), `reference ${call.label}`));
      mine.push(timed(() => ours(call.program, call.args(i), user), `ours ${call.label}`));
    }
    const ratio = median(ref) / median(mine);
    const met = ratio >= BAR_RATIO;
    if (call.bar && !met) missed++;
    rows.push([call.label, median(ref).toFixed(1), median(mine).toFixed(1), `${ratio.toFixed(2)}x`, call.bar ? (met ? 'ok' : 'MISSED') : '(none)']);
  }

  // 10,000 sessions in each database, then the listings.
  fill(REFERENCE_DB, 10000);
  fill(box.dbPath, 10000);
  const listings: [string, string[], 'alice' | 'root'][] = [
    ['list 10,000: wrapper listsessions_all', ['listsessions_all'], 'alice'],
    ['list 10,000: wrapper listsessionsroot_all (root)', ['listsessionsroot_all'], 'root'],
  ];
  for (const [label, args, who] of listings) {
    const ref: number[] = [];
    const mine: number[] = [];
    for (let i = 0; i < LIST_ROUNDS; i++) {
      ref.push(timed(() => theirs('wrapper', args, users[who]), `reference ${label}`));
      mine.push(timed(() => ours('wrapper', args, users[who]), `ours ${label}`));
    }
    const check = theirs('wrapper', args, users[who]).stdout.split('\n').length === ours('wrapper', args, users[who]).stdout.split('\n').length;
    const ok = median(mine) < BAR_LIST_MS && check;
    if (!ok) missed++;
    rows.push([label, median(ref).toFixed(1), median(mine).toFixed(1), `${(median(ref) / median(mine)).toFixed(2)}x`, ok ? 'ok' : 'MISSED']);
  }

  const header = ['call (fresh process each)', 'reference ms', 'ours ms', 'ratio', `bar`];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((v, c) => (c === 0 ? v.padEnd(widths[c] ?? 0) : v.padStart(widths[c] ?? 0))).join(' | ')} |`;
  console.log(`\nmedian of ${ROUNDS} calls each (listings: ${LIST_ROUNDS}), node ${process.version}; bars: >= ${BAR_RATIO}x per call, listing 10,000 < ${BAR_LIST_MS} ms\n`);
  console.log(line(header));
  console.log(`|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(missed ? `\n${missed} bar(s) missed` : '\nall bars met');
  process.exitCode = missed ? 1 : 0;
} finally {
  restore();
  box.remove();
  rmSync(scratch, { recursive: true, force: true });
}
