// Issue 9, hole 1: after `x2go-sessiondb install`, no user may reach egid x2gouser through any
// program but our launcher. The reference's SQLite wrapper is setgid x2gouser (a statoverride
// of the package) and evaluates its first argument as Perl; diverted beside the original
// (`.x2go-reference`, as installs did before) it stayed runnable, and dpkg re-applies the mode
// on every upgrade. Here, as a real user, the payload runs against every setgid x2gouser file
// on the system: after install, after `apt-get install --reinstall` of both packages (what an
// upgrade does), and after moving an install made the earlier way; `status` names any such
// file; `uninstall` gives dpkg back exactly what it had.
//
// This suite changes the system's x2goserver (and puts it back): it runs as root, in CI.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PACKAGE, REPLACEMENTS } from '../src/install/dropin.js';
import { DEFAULT_PREFIX } from '../src/install/install-launcher.js';
import { lookupGroupId, type Account } from '../src/system/accounts.js';
import { preserveReferenceDb, REFERENCE_WRAPPER } from './support/reference.js';
import { hasCompiler, hasReference, isRoot, requires } from './support/requirements.js';
import { DIST } from './support/sandbox.js';
import { ensureUser, run, type Result } from './support/system.js';

const F1 = 'getservers();system(q(id));#';
const REFERENCE_PACKAGES = ['x2goserver', 'libx2go-server-db-perl'];
const x2goSessiondb = (args: string[]): Result => run(join(DIST, 'x2go-sessiondb.cjs'), args);
const installed = (): boolean => run('/usr/bin/dpkg-divert', ['--list']).stdout.includes(PACKAGE);

/** Every setgid x2gouser file on the root file system, found as root. */
function setgidX2gouserFiles(): string[] {
  const r = run('/usr/bin/find', [
    '/',
    '-xdev',
    '(',
    '-path',
    '/proc',
    '-prune',
    ')',
    '-o',
    '-type',
    'f',
    '-perm',
    '-2000',
    '-group',
    'x2gouser',
    '-print',
  ]);
  return r.stdout.split('\n').filter(Boolean).sort();
}

/**
 * The payload as `user` against each of them, and against the wrapper's own path (our launcher
 * by that name once installed): what each printed when it gave away the group.
 */
function payloadHits(user: Account): { files: string[]; hits: string[] } {
  const files = setgidX2gouserFiles();
  const hits = [...new Set([...files, REFERENCE_WRAPPER])].flatMap((file) => {
    let r: Result;
    try {
      r = run(file, [F1], { as: user });
    } catch (err) {
      // The kernel refused to run it for this user (a directory on the way is root's only).
      if ((err as NodeJS.ErrnoException).code === 'EACCES') return [];
      throw err;
    }
    const out = `${r.stdout}\n${r.stderr}`;
    return /\(x2gouser\)/.test(out) ? [`${file}: ${out.trim().split('\n')[0]}`] : [];
  });
  return { files, hits };
}

/** Where dpkg keeps the reference's wrapper now (its diversion's target, or the path itself). */
function wrapperTrueName(): string {
  return run('/usr/bin/dpkg-divert', ['--truename', REFERENCE_WRAPPER]).stdout.trim();
}

function reinstallPackages(): void {
  const r = run('/usr/bin/apt-get', ['install', '-y', '--reinstall', ...REFERENCE_PACKAGES], {
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
}

const needs = requires([isRoot, 'root'], [hasReference, 'the reference (apt-get install x2goserver)'], [hasCompiler, '/usr/bin/cc']);

describe('no user reaches egid x2gouser after install (issue 9, hole 1)', needs.options, () => {
  let alice: Account;
  let restoreDb: () => void = () => {};
  let statoverrides = '';

  before(() => {
    needs.check();
    if (installed()) x2goSessiondb(['uninstall']);
    alice = ensureUser('alice');
    restoreDb = preserveReferenceDb();
    statoverrides = run('/usr/bin/dpkg-statoverride', ['--list']).stdout;
  });

  after(() => {
    if (installed()) x2goSessiondb(['uninstall']);
    restoreDb();
  });

  test('the payload works on the reference (the hole exists), and status names the wrapper', () => {
    const { hits } = payloadHits(alice);
    assert.ok(
      hits.some((h) => h.startsWith(`${REFERENCE_WRAPPER}:`)),
      `the payload should give the group through the reference's wrapper: ${hits}`,
    );
    const status = x2goSessiondb(['status']);
    assert.equal(status.code, 1, status.stdout);
    assert.match(status.stdout, new RegExp(`^UNSAFE: ${REFERENCE_WRAPPER} is setgid x2gouser`, 'm'));
  });

  test('after install, no setgid x2gouser file gives a user the group, and status is clean', () => {
    const r = x2goSessiondb(['install']);
    assert.equal(r.code, 0, r.stderr);
    const { files, hits } = payloadHits(alice);
    assert.deepEqual(hits, []);
    // The reference's wrapper is still there (dpkg's file, its mode kept), where no user can reach it.
    assert.ok(files.includes(wrapperTrueName()), `${wrapperTrueName()} among ${files}`);
    assert.notEqual(wrapperTrueName(), REFERENCE_WRAPPER);
    const status = x2goSessiondb(['status']);
    assert.equal(status.code, 0, status.stdout);
    assert.doesNotMatch(status.stdout, /UNSAFE/);
  });

  test('after apt-get install --reinstall of both packages (an upgrade), still nobody gets the group', () => {
    reinstallPackages();
    // dpkg put the package's statoverride back on the diverted wrapper ...
    const st = statSync(wrapperTrueName());
    assert.deepEqual([st.mode & 0o7777, st.gid], [0o2755, lookupGroupId('x2gouser')]);
    // ... and it still gives nobody the group.
    assert.deepEqual(payloadHits(alice).hits, []);
    assert.equal(x2goSessiondb(['status']).code, 0);
  });

  test('a reference directory opened by hand: status names the wrapper, refresh (what the dpkg hook runs) closes it again', () => {
    chmodSync(join(DEFAULT_PREFIX, 'reference'), 0o755);
    const open = x2goSessiondb(['status']);
    assert.equal(open.code, 1);
    assert.match(open.stdout, new RegExp(`^UNSAFE: ${wrapperTrueName()} is setgid x2gouser`, 'm'));
    assert.notDeepEqual(payloadHits(alice).hits, []);
    const refresh = run(join(DEFAULT_PREFIX, 'bin', 'x2go-sessiondb'), ['refresh']);
    assert.match(refresh.stdout, /reference was 0:0 755; root:root 700 again/);
    assert.deepEqual(payloadHits(alice).hits, []);
    assert.equal(x2goSessiondb(['status']).code, 0);
  });

  test('an install made the earlier way (diverted beside, .x2go-reference) is moved by install', () => {
    assert.equal(x2goSessiondb(['uninstall']).code, 0);
    for (const r of REPLACEMENTS) {
      const d = run('/usr/bin/dpkg-divert', ['--package', PACKAGE, '--rename', '--divert', `${r.path}.x2go-reference`, '--add', r.path]);
      assert.equal(d.code, 0, d.stderr);
    }
    const legacy = x2goSessiondb(['status']);
    assert.equal(legacy.code, 1);
    assert.match(legacy.stdout, new RegExp(`^UNSAFE: ${REFERENCE_WRAPPER}\\.x2go-reference is setgid x2gouser`, 'm'));
    const r = x2goSessiondb(['install']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`moved from ${REFERENCE_WRAPPER}\\.x2go-reference to ${DEFAULT_PREFIX}/reference/`));
    for (const rep of REPLACEMENTS) assert.ok(!existsSync(`${rep.path}.x2go-reference`), `${rep.path}.x2go-reference left behind`);
    assert.deepEqual(payloadHits(alice).hits, []);
    assert.equal(x2goSessiondb(['status']).code, 0);
  });

  test('uninstall gives dpkg back exactly what it had', () => {
    const r = x2goSessiondb(['uninstall']);
    assert.equal(r.code, 0, r.stderr);
    const verify = run('/usr/bin/dpkg', ['--verify', ...REFERENCE_PACKAGES]);
    assert.deepEqual([verify.code, verify.stdout], [0, '']);
    assert.equal(run('/usr/bin/dpkg-statoverride', ['--list']).stdout, statoverrides);
    assert.doesNotMatch(run('/usr/bin/dpkg-divert', ['--list']).stdout, /x2go-sessiondb/);
    const st = statSync(REFERENCE_WRAPPER);
    assert.deepEqual([st.mode & 0o7777, st.uid, st.gid], [0o2755, 0, lookupGroupId('x2gouser')]);
    assert.ok(!existsSync(DEFAULT_PREFIX));
  });
});
