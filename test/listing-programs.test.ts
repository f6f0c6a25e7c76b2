// x2golistsessions and x2golistshadowsessions: the reference's Perl programs (with its own
// database code) and ours (through the installed setgid launcher: Node, or the resident service
// in listing-programs.via-service.test.ts), side by side as real users, with agent state files
// set up for each transition (running -> suspended, suspended -> running, no state file, a state
// that is neither, finished rows, desktop sharing). Each must print the same, leave the same
// statuses in the database, and run the same programs with the same arguments (recorded by
// stand-ins on the caller's PATH). Then the attacks: a state file or directory planted as a
// symbolic link is not followed with the launcher's group, and the programs it runs do not
// have the group. On SQLite and PostgreSQL.

import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lookupGroupId, type Account } from '../src/system/accounts.js';
import { BACKENDS, NEEDS_ROOT, type TestDatabase } from './support/backends.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { normalizeUnordered } from './support/listing.js';
import { freshReferenceDb } from './support/reference.js';
import { hasCompiler, hasReference } from './support/requirements.js';
import { COOKIE, REFERENCE_STEP, runOurs, scenarioUsers, type Step, type Users } from './support/scenario.js';
import { launcherCalls } from './support/service.js';
import { run, type Result } from './support/system.js';

const SRV = hostname();
const sid = (user: string, display: number, type = 'Dxfce'): string => `${user}-${display}-17000000${display}_st${type}_dp24`;
/** alice's sessions, each with what its agent's state file says (undefined: no file). */
const SESSIONS: { id: string; status: 'R' | 'S' | 'F'; state?: string }[] = [
  { id: sid('alice', 51), status: 'R', state: 'SUSPENDED' },
  { id: sid('alice', 52), status: 'S', state: 'RUNNING' },
  { id: sid('alice', 53), status: 'R' },
  { id: sid('alice', 54), status: 'S', state: 'SUSPENDED' },
  { id: sid('alice', 55), status: 'R', state: 'RUNNING' },
  { id: sid('alice', 56), status: 'F', state: 'SUSPENDED' },
  // Perl compares the first line with its newline: no transition.
  { id: sid('alice', 57), status: 'R', state: 'SUSPENDED\n' },
  { id: sid('alice', 58), status: 'R', state: 'SUSPENDING' },
  { id: sid('alice', 59), status: 'S', state: 'RESUMING' },
  { id: sid('alice', 60), status: 'S', state: 'TERMINATED' },
  // A desktop whose command holds "xshad": SQLite's LIKE takes it for desktop sharing, so
  // x2golistsessions lists it (and reads its state file) on PostgreSQL only, as the reference.
  { id: sid('alice', 61, 'Dxshadterm'), status: 'R', state: 'SUSPENDED' },
];
/** The statuses SESSIONS's state files change, as setupSteps sets them. */
const STATUS_AT_SETUP: Step[] = SESSIONS.filter((s) => s.status !== 'F').map((s) => ['alice', 'x2gochangestatus', s.status, s.id]);
/** bob viewing alice's desktop: stored in bob's name, its state in alice's directory. */
const SHARE = 'bob-71-1700000071_stS1XSHADaliceXSHADPP51_dp24';
const CALLS_ENV = 'X2GODB_TEST_CALLS';

function setupSteps(withShare: boolean): Step[] {
  const steps: Step[] = [];
  for (const [i, s] of SESSIONS.entries()) {
    const display = String(51 + i);
    steps.push(['alice', 'x2goinsertsession', display, SRV, s.id]);
    steps.push([
      'alice',
      'x2gocreatesession',
      s.id,
      COOKIE,
      String(3999900 + i),
      '10.0.0.1',
      ...['1', '2', '3'].map((p) => String(30000 + i * 10 + Number(p))),
      '-1',
      '-1',
    ]);
    if (s.status !== 'R') steps.push(['alice', 'x2gochangestatus', s.status, s.id]);
  }
  if (withShare) {
    steps.push(['alice', 'x2goinsertshadowsession', '71', SRV, SHARE, 'bob']);
    steps.push(['alice', 'x2gocreateshadowsession', SHARE, COOKIE, '3999971', '10.0.0.3', '30701', '30702', '30703', 'bob']);
  }
  return steps;
}

/** The state files, as x2gostartagent and the agent leave them (the directory of the session's user). */
function writeStates(alice: Account, withShare: boolean): void {
  const base = '/tmp/.x2go-alice';
  mkdirSync(base, { recursive: true, mode: 0o755 });
  chownSync(base, alice.uid, alice.gid);
  chmodSync(base, 0o755);
  const states: [string, string | undefined][] = SESSIONS.map((s) => [s.id, s.state]);
  if (withShare) states.push([SHARE, 'SUSPENDED']);
  for (const [id, state] of states) {
    const dir = join(base, `C-${id}`);
    rmSync(dir, { recursive: true, force: true });
    if (state === undefined) continue;
    mkdirSync(dir, { mode: 0o711 });
    chownSync(dir, alice.uid, alice.gid);
    chmodSync(dir, 0o711);
    writeFileSync(join(dir, 'state'), state, { mode: 0o644 });
    chownSync(join(dir, 'state'), alice.uid, alice.gid);
  }
}

function removeStates(): void {
  for (const id of [...SESSIONS.map((s) => s.id), SHARE]) rmSync(`/tmp/.x2go-alice/C-${id}`, { recursive: true, force: true });
}

/** Stand-ins for x2goumount-session, x2gopath (pointing at the stand-ins) and x2gormforward, recording each call. */
function standIns(): { dir: string; env(): Record<string, string>; calls(): string[] } {
  const dir = mkdtempSync('/tmp/x2godb-standins-');
  chmodSync(dir, 0o755);
  const calls = join(dir, 'calls');
  const record = `#!/bin/sh\necho "\${0##*/} $* gid=$(id -g) groups=$(id -G)" >> "$${CALLS_ENV}"\n`;
  writeFileSync(join(dir, 'x2goumount-session'), record, { mode: 0o755 });
  // x2gopath libexec names a copy of /usr/lib/x2go (the reference's DB.pm finds its wrapper
  // there too) whose x2gormforward records.
  const lib = join(dir, 'lib');
  mkdirSync(lib, { mode: 0o755 });
  for (const name of readdirSync('/usr/lib/x2go')) symlinkSync(join('/usr/lib/x2go', name), join(lib, name));
  rmSync(join(lib, 'x2gormforward'), { force: true });
  writeFileSync(join(lib, 'x2gormforward'), record, { mode: 0o755 });
  writeFileSync(join(dir, 'x2gopath'), `#!/bin/sh\n[ "$1" = libexec ] && exec printf '%s' '${lib}'\nexec /usr/bin/x2gopath "$@"\n`, {
    mode: 0o755,
  });
  return {
    dir,
    env: () => {
      writeFileSync(calls, '', { mode: 0o666 });
      chmodSync(calls, 0o666);
      return { PATH: `${dir}:/usr/bin:/bin`, [CALLS_ENV]: calls };
    },
    calls: () => readFileSync(calls, 'utf8').split('\n').filter(Boolean).sort(),
  };
}

function must<T>(value: T | undefined): T {
  assert.ok(value !== undefined);
  return value;
}

/** A listing's output comparable across two databases: times and age masked, rows sorted. */
const norm = (r: Result): string => `${normalizeUnordered(r.stdout)}\n--\n${r.stderr}exit ${r.code}`;

for (const backend of BACKENDS) {
  const needs = backend.needs(
    NEEDS_ROOT,
    [hasReference, 'the reference (apt-get install x2goserver libdbd-pg-perl pwgen)'],
    [hasCompiler, '/usr/bin/cc'],
  );
  // The reference lists a desktop-sharing session to its viewer on SQLite only (to its creator on PostgreSQL).
  const withShare = backend.kind === 'sqlite';
  // The desktop whose command holds "xshad", which x2golistsessions lists on PostgreSQL only.
  const xshadDesktop = backend.kind === 'postgres' ? [sid('alice', 61, 'Dxshadterm')] : [];
  /** x2golistsessions' lines: all of alice's sessions but the finished one, and on SQLite the "xshad" desktop. */
  const listed = SESSIONS.length - 2 + xshadDesktop.length;

  describe(`x2golistsessions and x2golistshadowsessions, reference and ours (${backend.name})`, needs.options, () => {
    let users: Users;
    let db: TestDatabase;
    let inst: Installed;
    let restoreReference: () => void = () => {};
    let stand: ReturnType<typeof standIns>;

    const ours = (who: Account, program: string, args: string[], rounds = 1): Result => {
      const counted = launcherCalls.get(inst.socket);
      // A call that reads another user's state file asks the service twice (agent-report.ts).
      if (counted) counted.calls += rounds - 1;
      return inst.helper(program, args, who, stand.env());
    };
    const reference = (who: Account, program: string, args: string[]): Result =>
      run(`/usr/bin/${program}`, args, { as: who, env: stand.env() });

    before(async () => {
      needs.check();
      stand = standIns();
      users = scenarioUsers();
      // The reference's first: its x2godbadmin --createdb drops and makes the role x2godbuser.
      restoreReference = await freshReferenceDb(backend.kind, ['alice', 'bob']);
      db = await backend.createDatabase({ database: 'x2go_listing_programs', users: ['alice', 'bob'], serviceLogin: true });
      inst = installLauncher(db);
      for (const step of setupSteps(withShare)) {
        const o = runOurs(inst, users, step);
        assert.equal(o.code, 0, `ours ${step.join(' ')}: ${o.stderr}`);
        const r = REFERENCE_STEP[backend.kind](users, step);
        assert.equal(r.code, 0, `reference ${step.join(' ')}: ${r.stderr}`);
      }
    });

    after(async () => {
      removeStates();
      restoreReference();
      await db?.drop();
      if (stand) rmSync(stand.dir, { recursive: true, force: true });
      // The directory x2gostartagent would have made, if the test made it (empty now).
      try {
        rmdirSync('/tmp/.x2go-alice');
      } catch {
        // not empty, or not there: left as it is
      }
    });

    // With 40 more session directories (stale ones, without state files) the launcher sends its
    // report after the request (X2DB3), the service listing meanwhile: the same answers again.
    for (const stale of [0, 40]) {
      test(`x2golistsessions: the same lines, status changes and programs run, for every state (${stale} stale session directories)`, (t) => {
        const alice = must(users.alice);
        const staleDirs = Array.from({ length: stale }, (_, i) => join('/tmp/.x2go-alice', `C-alice-${700 + i}-1700000700_stDxfce_dp24`));
        t.after(() => {
          for (const dir of staleDirs) rmSync(dir, { recursive: true, force: true });
          // The statuses as setupSteps left them, in both databases, for the run with stale directories.
          for (const step of stale === 0 ? STATUS_AT_SETUP : []) {
            runOurs(inst, users, step);
            REFERENCE_STEP[backend.kind](users, step);
          }
        });
        writeStates(alice, withShare);
        for (const dir of staleDirs) {
          mkdirSync(dir);
          chownSync(dir, alice.uid, alice.gid);
        }
        const ref = reference(alice, 'x2golistsessions', []);
        const refCalls = stand.calls();
        writeStates(alice, withShare);
        const our = ours(alice, 'x2golistsessions', []);
        const ourCalls = stand.calls();
        assert.equal(norm(our), norm(ref));
        assert.equal(our.code, 0, our.stderr);
        // alice-51 went R -> S, alice-52 S -> R; the others stay; the finished one is not listed.
        assert.match(our.stdout, new RegExp(`\\|${sid('alice', 51)}\\|51\\|${SRV}\\|S\\|`));
        assert.match(our.stdout, new RegExp(`\\|${sid('alice', 52)}\\|52\\|${SRV}\\|R\\|`));
        assert.match(our.stdout, new RegExp(`\\|${sid('alice', 58)}\\|58\\|${SRV}\\|S\\|`));
        assert.match(our.stdout, new RegExp(`\\|${sid('alice', 59)}\\|59\\|${SRV}\\|R\\|`));
        // The "xshad" desktop (PostgreSQL only) went R -> S too.
        for (const id of xshadDesktop) assert.match(our.stdout, new RegExp(`\\|${id}\\|61\\|${SRV}\\|S\\|`));
        assert.equal(our.stdout.split('\n').filter(Boolean).length, listed);
        // The same programs with the same arguments, as alice, without the launcher's group.
        assert.deepEqual(ourCalls, refCalls);
        const gid = lookupGroupId('x2gouser');
        assert.deepEqual(
          ourCalls.map((c) => c.replace(/ gid=.*/, '')),
          [sid('alice', 51), sid('alice', 58), ...xshadDesktop].flatMap((id) => [`x2gormforward ${id}`, `x2goumount-session ${id}`]).sort(),
        );
        for (const c of ourCalls) {
          assert.match(c, new RegExp(` gid=${alice.gid} `));
          assert.doesNotMatch(c, new RegExp(`groups=.*\\b${gid}\\b`));
        }

        // What each database now holds: the same listing without state files (no change then), all servers and this one.
        removeStates();
        for (const args of [['--all-servers'], [SRV], []]) {
          const r = reference(alice, 'x2golistsessions', args);
          const o = ours(alice, 'x2golistsessions', args);
          assert.equal(norm(o), norm(r), args.join(' '));
          assert.deepEqual(stand.calls(), []);
        }
      });
    }

    test('the hostname check: (none) and localhost are refused with the reference message and exit code', () => {
      const alice = must(users.alice);
      for (const name of ['localhost']) {
        const wrap = (file: string): Result =>
          run(
            '/usr/bin/unshare',
            ['--uts', 'sh', '-c', `hostname ${name} && exec setpriv --reuid alice --regid alice --init-groups "$0"`, file],
            {
              env: stand.env(),
            },
          );
        const r = wrap('/usr/bin/x2golistsessions');
        const o = wrap(join(inst.prefix, 'helpers', 'x2golistsessions'));
        const counted = launcherCalls.get(inst.socket);
        if (counted) counted.calls++;
        assert.equal(o.stdout, r.stdout);
        assert.equal(o.stderr, r.stderr);
        assert.equal(o.code, r.code);
        assert.equal(o.code, 255);
      }
      void alice;
    });

    test("x2golistshadowsessions: the viewer lists; the desktop owner's state file is read with the viewer's rights", () => {
      const bob = must(users.bob);
      if (!withShare) {
        // On PostgreSQL the reference lists it to its creator, not the viewer: ours only.
        const r = runOurs(inst, users, ['alice', 'x2goinsertshadowsession', '71', SRV, SHARE, 'bob']);
        assert.equal(r.code, 0, r.stderr);
        const c = runOurs(inst, users, [
          'alice',
          'x2gocreateshadowsession',
          SHARE,
          COOKIE,
          '3999971',
          '10.0.0.3',
          '30701',
          '30702',
          '30703',
          'bob',
        ]);
        assert.equal(c.code, 0, c.stderr);
      }
      writeStates(must(users.alice), true);
      if (withShare) {
        // The reference dies there (it calls db_changestatus, which it never imported): nothing
        // printed, nothing changed, no umount.
        const ref = reference(bob, 'x2golistshadowsessions', []);
        assert.match(ref.stderr, /Undefined subroutine &main::db_changestatus called/);
        assert.equal(ref.code, 255);
        assert.equal(ref.stdout, '');
        assert.deepEqual(stand.calls(), []);
      }
      // Ours reads alice's state file as bob (a second round: not bob's directory), but only the
      // desktop's owner may change a sharing session (ownership rule; row-level security on
      // PostgreSQL), and the viewer is who lists it: printed as it is, nothing run, exit 0.
      const our = ours(bob, 'x2golistshadowsessions', [], 2);
      assert.equal(our.code, 0, our.stderr);
      assert.match(our.stdout, new RegExp(`^3999971\\|${SHARE}\\|71\\|${SRV}\\|R\\|[^\n]*\n$`));
      assert.deepEqual(stand.calls(), []);
      // No state file: the same lines as the reference.
      removeStates();
      const o2 = ours(bob, 'x2golistshadowsessions', [], 2);
      assert.equal(o2.code, 0, o2.stderr);
      if (withShare) {
        const r2 = reference(bob, 'x2golistshadowsessions', []);
        assert.equal(norm(o2), norm(r2));
      }
      assert.deepEqual(stand.calls(), []);
    });

    test('more entries in the state directory than the launcher reads: the rest asked for by name', () => {
      const alice = must(users.alice);
      removeStates();
      writeStates(alice, withShare);
      // 1,100 stale directories beside the sessions' (the launcher reads at most 1,024 entries).
      const stale = Array.from({ length: 1100 }, (_, i) => join('/tmp/.x2go-alice', `C-alice-${500 + i}-1700000500_stDxfce_dp24`));
      try {
        for (const dir of stale) {
          mkdirSync(dir);
          chownSync(dir, alice.uid, alice.gid);
        }
        // The first round's report says "partial"; the service asks for the listed sessions' files.
        const o = ours(alice, 'x2golistsessions', [], 2);
        assert.equal(o.code, 0, o.stderr);
        assert.equal(o.stdout.split('\n').filter(Boolean).length, listed);
        assert.deepEqual(stand.calls(), []);
      } finally {
        for (const dir of stale) rmSync(dir, { recursive: true, force: true });
        removeStates();
      }
    });

    test("a state file or its directory planted as a link is not followed with the launcher's group", () => {
      const alice = must(users.alice);
      const x2gouser = must(lookupGroupId('x2gouser'));
      removeStates();
      // What only the group x2gouser may read: a state that would suspend the session.
      const secret = mkdtempSync('/tmp/x2godb-secret-');
      chownSync(secret, 0, x2gouser);
      chmodSync(secret, 0o750);
      writeFileSync(join(secret, 'state'), 'SUSPENDED', { mode: 0o640 });
      chownSync(join(secret, 'state'), 0, x2gouser);
      try {
        const base = '/tmp/.x2go-alice';
        // The state file as a link (53), the session's directory as a link (55).
        const dir53 = join(base, `C-${sid('alice', 53)}`);
        mkdirSync(dir53, { mode: 0o700 });
        chownSync(dir53, alice.uid, alice.gid);
        symlinkSync(join(secret, 'state'), join(dir53, 'state'));
        symlinkSync(secret, join(base, `C-${sid('alice', 55)}`));
        assert.ok(existsSync(join(base, `C-${sid('alice', 55)}`, 'state')), 'root follows the links');
        const o = ours(alice, 'x2golistsessions', []);
        assert.equal(o.code, 0, o.stderr);
        for (const d of [53, 55]) assert.match(o.stdout, new RegExp(`\\|${sid('alice', d)}\\|${d}\\|${SRV}\\|R\\|`));
        assert.deepEqual(stand.calls(), []);
      } finally {
        removeStates();
        rmSync(secret, { recursive: true, force: true });
      }
    });
  });
}
