// Issue 10, item 1: with x2go-sessiondb installed, the system's x2gostartagent reserves its
// display and ports in one atomic step, without anyone running `patch`, and stays so across
// package upgrades; a script the patch does not apply to is left as it is, and `install` says
// so. At each step (install, apt-get install --reinstall x2goserver, a changed original, one
// the patch no longer applies to, uninstall) both the file and its behaviour are checked: the
// real /usr/bin/x2gostartagent runs as a real user up to its database step, and either calls
// our reservation (the patched copy) or enters the reference's loops.
//
// This suite changes the system's x2goserver (and puts it back): it runs as root, in CI.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PACKAGE } from '../src/install/dropin.js';
import { DEFAULT_PREFIX } from '../src/install/install-launcher.js';
import { HOOK_PATH } from '../src/install/dpkg-hook.js';
import { patchedStartagent, STARTAGENT } from '../src/install/startagent.js';
import type { Account } from '../src/system/accounts.js';
import { preserveReferenceDb } from './support/reference.js';
import { hasCompiler, hasReference, isRoot, requires } from './support/requirements.js';
import { DIST, ROOT } from './support/sandbox.js';
import { ensureUser, run, type Result } from './support/system.js';

const x2goSessiondb = (args: string[]): Result => run(join(DIST, 'x2go-sessiondb.cjs'), args);
const installed = (): boolean => run('/usr/bin/dpkg-divert', ['--list']).stdout.includes(PACKAGE);
const trueName = (path: string): string => run('/usr/bin/dpkg-divert', ['--truename', path]).stdout.trim();

type Behaviour = 'reserves' | 'loops';

const needs = requires([isRoot, 'root'], [hasReference, 'the reference (apt-get install x2goserver)'], [hasCompiler, '/usr/bin/cc']);

describe('x2gostartagent reserves atomically when x2go-sessiondb is installed (issue 10, item 1)', needs.options, () => {
  let alice: Account;
  let restoreDb: () => void = () => {};
  let original: Buffer;
  let harness: string;

  before(() => {
    needs.check();
    if (installed()) x2goSessiondb(['uninstall']);
    alice = ensureUser('alice');
    restoreDb = preserveReferenceDb();
    assert.equal(run('/usr/sbin/x2godbadmin', ['--createdb', '--force']).code, 0);
    original = readFileSync(STARTAGENT);
    harness = makeHarness();
  });

  after(() => {
    if (installed()) x2goSessiondb(['uninstall']);
    if (!readFileSync(STARTAGENT).equals(original)) restoreOriginal();
    restoreDb();
    rmSync(harness, { recursive: true, force: true });
  });

  function restoreOriginal(): void {
    writeFileSync(STARTAGENT, original);
    chmodSync(STARTAGENT, 0o755);
  }

  /**
   * x2gostartagent finds its library with `x2gopath libexec` on PATH: a directory of links to
   * the real one, except x2gosyslog, which logs to a file and kills the script at the message
   * it writes just before its database step (ours: after the reservation; the reference's:
   * before its first insert), so that no agent starts on the host.
   */
  function makeHarness(): string {
    const dir = mkdtempSync(join(tmpdir(), 'x2go-startagent-'));
    chmodSync(dir, 0o755);
    const [bin, lib] = [join(dir, 'bin'), join(dir, 'lib')];
    for (const d of [bin, lib]) run('/bin/mkdir', ['-m', '755', d]);
    for (const name of readdirSync('/usr/lib/x2go')) if (name !== 'x2gosyslog') symlinkSync(join('/usr/lib/x2go', name), join(lib, name));
    writeFileSync(join(bin, 'x2gopath'), `#!/bin/sh\nif [ "$1" = libexec ]; then echo '${lib}'; else exec /usr/bin/x2gopath "$@"; fi\n`, {
      mode: 0o755,
    });
    writeFileSync(
      join(lib, 'x2gosyslog'),
      [
        '#!/bin/bash',
        'printf "%s: %s\\n" "$2" "$3" >> "${X2GO_TEST_LOG}"',
        'case "$3" in "reserved display "*|"initializing new session with ID "*) kill -KILL "${PPID}" ;; esac',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    return dir;
  }

  /** Runs the system's x2gostartagent as alice up to its database step; what it did there. */
  function startAgent(): { behaviour: Behaviour | 'failed'; log: string } {
    const log = join(harness, `log-${Date.now()}`);
    writeFileSync(log, '');
    chmodSync(log, 0o666);
    run(STARTAGENT, ['800x600', 'lan', '16m-jpeg-9', 'unix-kde-depth_24', 'us', 'pc105/us', '0', 'D', 'xfce4', 'both'], {
      as: alice,
      env: { PATH: `${join(harness, 'bin')}:/usr/local/bin:/usr/bin:/bin`, X2GO_CLIENT: '10.0.0.1', X2GO_TEST_LOG: log },
    });
    const text = readFileSync(log, 'utf8');
    rmSync(log);
    const reserved = /^debug: reserved display \d+ and ports \d+ \d+ \d+ for session (alice-\d+-\d+_stDxfce4_dp24)$/m.exec(text)?.[1];
    if (reserved) {
      // The reservation is real: the session row is in the database, the user's own.
      const listed = run(join(DEFAULT_PREFIX, 'bin', 'x2godb'), ['listsessions', hostname()], { as: alice });
      assert.match(listed.stdout, new RegExp(`\\|${reserved}\\|`), listed.stderr);
      return { behaviour: 'reserves', log: text };
    }
    return { behaviour: /initializing new session with ID alice-/.test(text) ? 'loops' : 'failed', log: text };
  }

  /** The reserving copy: the reference's script (the diverted original) patched for this prefix. */
  function assertPatchedCopy(): void {
    const from = trueName(STARTAGENT);
    assert.equal(from, join(DEFAULT_PREFIX, 'reference', STARTAGENT));
    const made = patchedStartagent(readFileSync(from, 'utf8'), DEFAULT_PREFIX);
    assert.ok(made.ok);
    assert.equal(readFileSync(STARTAGENT, 'utf8'), made.text);
    assert.match(made.text, new RegExp(`X2GO_SESSIONDB_RESERVE:-${DEFAULT_PREFIX}/helpers/x2goreservesession`));
    const st = statSync(STARTAGENT);
    assert.deepEqual([st.mode & 0o7777, st.uid, st.gid], [0o755, 0, 0]);
    const agent = startAgent();
    assert.equal(agent.behaviour, 'reserves', agent.log);
  }

  function assertReference(content: Buffer): void {
    assert.equal(trueName(STARTAGENT), STARTAGENT);
    assert.ok(readFileSync(STARTAGENT).equals(content), 'the reference script, unchanged');
  }

  /** What dpkg's post-invoke hook runs after an upgrade, run as dpkg runs it. */
  function runHook(): Result {
    const line = readFileSync(HOOK_PATH, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('post-invoke='));
    assert.ok(line, `${HOOK_PATH} has a post-invoke line`);
    return run('/bin/sh', ['-c', line.slice('post-invoke='.length)]);
  }

  function reinstallX2goserver(): Result {
    const r = run('/usr/bin/apt-get', ['install', '-y', '--reinstall', 'x2goserver'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return r;
  }

  test('before install: the reference runs its loops, and status says so', () => {
    assertReference(original);
    const agent = startAgent();
    assert.equal(agent.behaviour, 'loops', agent.log);
    assert.match(
      x2goSessiondb(['status']).stdout,
      /^\/usr\/bin\/x2gostartagent: the reference's \(display and ports by read, pick, insert, retry; `x2go-sessiondb install` patches it\)$/m,
    );
  });

  test('install puts the patched copy in place, made from the diverted original, and writes the dpkg hook', () => {
    const r = x2goSessiondb(['install']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\/usr\/bin\/x2gostartagent: the patched copy, made from /m);
    assertPatchedCopy();
    assert.ok(readFileSync(trueName(STARTAGENT)).equals(original));
    assert.match(readFileSync(HOOK_PATH, 'utf8'), /^post-invoke=.* refresh --prefix /m);
    const status = x2goSessiondb(['status']);
    assert.equal(status.code, 0, status.stdout);
    assert.match(status.stdout, /^\/usr\/bin\/x2gostartagent: x2go-sessiondb's: the patched copy of /m);
  });

  test('the hook is silent when nothing changed', () => {
    const r = runHook();
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
  });

  test('apt-get install --reinstall x2goserver: still the patched copy', () => {
    reinstallX2goserver();
    assertPatchedCopy();
    assert.equal(x2goSessiondb(['status']).code, 0);
  });

  test('a changed original: the hook re-makes the patched copy from it', () => {
    const from = trueName(STARTAGENT);
    writeFileSync(from, original.toString('utf8').replace('\n', '\n# changed by an upgrade\n'));
    const stale = x2goSessiondb(['status']);
    assert.equal(stale.code, 1);
    assert.match(stale.stdout, /^\/usr\/bin\/x2gostartagent: STALE: /m);
    const r = runHook();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^x2go-sessiondb refresh: \/usr\/bin\/x2gostartagent: the patched copy, re-made from the changed /m);
    assertPatchedCopy();
    assert.match(readFileSync(STARTAGENT, 'utf8'), /^# changed by an upgrade$/m);
    assert.equal(x2goSessiondb(['status']).code, 0);
  });

  test('an original the patch no longer applies to: the hook puts the reference back; a later upgrade it applies to is patched again', () => {
    const unknown = Buffer.from(original.toString('utf8').replace("typeset -i max_retry='10'", "typeset -i max_retry='12'"));
    writeFileSync(trueName(STARTAGENT), unknown);
    const r = runHook();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /does not apply to the new x2gostartagent \(hunk 1 of 1 .*\); the reference's is back in place/);
    assertReference(unknown);
    assert.equal(startAgent().behaviour, 'loops');
    assert.match(x2goSessiondb(['status']).stdout, /^\/usr\/bin\/x2gostartagent: the reference's \(.*does not apply to it/m);
    // The package's own file again: dpkg runs the hook, which patches it again.
    reinstallX2goserver();
    assertPatchedCopy();
    assert.ok(readFileSync(trueName(STARTAGENT)).equals(original));
  });

  test('uninstall puts the reference back exactly and removes the hook', () => {
    const r = x2goSessiondb(['uninstall']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^removed \/etc\/dpkg\/dpkg\.cfg\.d\/x2go-sessiondb$/m);
    assertReference(original);
    const verify = run('/usr/bin/dpkg', ['--verify', 'x2goserver', 'libx2go-server-db-perl']);
    assert.deepEqual([verify.code, verify.stdout], [0, '']);
    assert.throws(() => statSync(HOOK_PATH));
    assert.equal(startAgent().behaviour, 'loops');
  });

  test('a script patched by hand (the README once said so) is undone, then replaced by the kept-up-to-date copy', () => {
    const hand = run('/usr/bin/patch', ['-s', '-d', '/', '-p1', '-i', join(ROOT, 'contrib', 'x2gostartagent-reserve.patch')]);
    assert.equal(hand.code, 0, hand.stderr);
    try {
      const r = x2goSessiondb(['install']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /^\/usr\/bin\/x2gostartagent: undid the patch applied by hand \(x2goserver's file again\)\n\/usr\/bin\/x2gostartagent: the patched copy, made from /m,
      );
      assert.ok(readFileSync(trueName(STARTAGENT)).equals(original));
      assertPatchedCopy();
      assert.equal(x2goSessiondb(['uninstall']).code, 0);
      assertReference(original);
    } finally {
      if (!readFileSync(STARTAGENT).equals(original)) restoreOriginal();
    }
  });

  test('a version the patch does not apply to: install leaves the reference in place and says so', () => {
    const unknown = Buffer.from(original.toString('utf8').replace("typeset -i max_retry='10'", "typeset -i max_retry='12'"));
    writeFileSync(STARTAGENT, unknown);
    try {
      const r = x2goSessiondb(['install']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /^\/usr\/bin\/x2gostartagent: contrib\/x2gostartagent-reserve\.patch does not apply to this x2gostartagent \(hunk 1 of 1 \(at line 230\) does not match\); the reference's stays in place, without atomic reservation$/m,
      );
      assertReference(unknown);
      assert.match(x2goSessiondb(['status']).stdout, /^\/usr\/bin\/x2gostartagent: the reference's \(.*does not apply to it/m);
      assert.equal(x2goSessiondb(['uninstall']).code, 0);
      assertReference(unknown);
    } finally {
      restoreOriginal();
    }
    assert.deepEqual(run('/usr/bin/dpkg', ['--verify', 'x2goserver']).stdout, '');
  });
});
