// The Debian package's whole life on this machine's x2goserver, with sessions in its database:
// `apt-get install ./x2go-sessiondb_*.deb`; `apt-get install --reinstall x2goserver
// libx2go-server-db-perl` (what their upgrade does); an upgrade to a newer build of ours and a
// downgrade back; `apt-get remove`, after which dpkg finds x2goserver as it installed it, the
// statoverrides and diversions are as before and the reference lists every session, those made
// under ours included; `apt-get purge`. Two builds are made once, at the start
// (scripts/build-deb.ts, from the dist/ that `npm test` built).
//
// This suite installs and removes a package on the system (and puts everything back): it runs
// as root, in CI.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PACKAGE } from '../src/install/dropin.js';
import { DEFAULT_PREFIX } from '../src/install/install-launcher.js';
import { lookupGroupId, type Account } from '../src/system/accounts.js';
import { DEFAULT_SOCKET } from '../src/service/protocol.js';
import { normalizeUnordered } from './support/listing.js';
import { freshReferenceDb, REFERENCE_DB, REFERENCE_WRAPPER } from './support/reference.js';
import { hasCompiler, hasReference, isRoot, requires } from './support/requirements.js';
import { COOKIE, REFERENCE_STEP, scenarioUsers, type Step, type Users } from './support/scenario.js';
import { DIST, ROOT } from './support/sandbox.js';
import { run, type Result } from './support/system.js';

const SRV = hostname();
const A = 'alice-53-1700000053_stDxfce_dp24';
const B = 'bob-63-1700000063_stDxfce_dp24';
/** Made while ours is installed, through the reference's helper path (our launcher then). */
const C = 'alice-83-1700000083_stDxfce_dp24';
const REFERENCE_PACKAGES = ['x2goserver', 'libx2go-server-db-perl'];
const LAUNCHER = join(DEFAULT_PREFIX, 'x2godb-launcher');
const SQL_CONFIG = '/etc/x2go/x2gosql/sql';
const DSH_STATE = '/var/lib/systemd/deb-systemd-helper-enabled/x2gosessiond.service.dsh-also';
/** What deb-systemd-helper enable makes, with systemd running or not. */
const WANTS = '/etc/systemd/system/multi-user.target.wants/x2gosessiond.service';

const hasDebTools = existsSync('/usr/bin/dpkg-deb') && existsSync('/usr/bin/pandoc') && existsSync('/usr/bin/dpkg-shlibdeps');
const needs = requires(
  [isRoot, 'root'],
  [hasReference, 'the reference (apt-get install x2goserver)'],
  [hasCompiler, '/usr/bin/cc'],
  [hasDebTools, 'dpkg-deb, dpkg-shlibdeps and pandoc (apt-get install dpkg-dev pandoc)'],
);

const env = { DEBIAN_FRONTEND: 'noninteractive' };
function apt(args: string[]): Result {
  const r = run('/usr/bin/apt-get', ['-y', ...args], { env });
  assert.equal(r.code, 0, `apt-get ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r;
}
// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a template
const STATUS_AND_VERSION = '-f=${db:Status-Abbrev} ${Version}';
/** "ii 0.1.0", "rc 0.1.0", or "" when dpkg does not know the package. */
const installedVersion = (): string => run('/usr/bin/dpkg-query', ['-W', STATUS_AND_VERSION, PACKAGE]).stdout.replace(/\s+/g, ' ').trim();
const status = (): Result => run('/usr/sbin/x2go-sessiondb', ['status']);
const ourDiversions = (): string[] =>
  run('/usr/bin/dpkg-divert', ['--list'])
    .stdout.split('\n')
    .filter((l) => l.includes(PACKAGE))
    .sort();
const statoverrides = (): string => run('/usr/bin/dpkg-statoverride', ['--list']).stdout;
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function build(version: string, out: string): string {
  const r = run(process.execPath, ['--import', './test/support/register.mjs', 'scripts/build-deb.ts', '--version', version, '--out', out], {
    cwd: ROOT,
  });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

describe('the Debian package: install, x2goserver upgrade, upgrade, downgrade, remove, purge', needs.options, () => {
  let users: Users = { alice: undefined, bob: undefined, root: undefined };
  let scratch = '';
  let debs: { older: string; newer: string; olderVersion: string; newerVersion: string };
  let restoreReference: () => void = () => {};
  const baseline = { statoverrides: '', diversions: [] as string[], sqlConfig: '' };

  /** x2golistsessions as `who`, its times and age column made placeholders. */
  const listAs = (who: 'alice' | 'bob'): string =>
    normalizeUnordered(run('/usr/bin/x2golistsessions', [], { as: users[who] as Account }).stdout);

  before(async () => {
    needs.check();
    // A run that died half-way must not leave the package, or a checkout's install, behind.
    if (installedVersion().startsWith('i')) apt(['purge', PACKAGE]);
    if (ourDiversions().length) run(join(DIST, 'x2go-sessiondb.cjs'), ['uninstall']);
    assert.ok(existsSync(join(DIST, 'x2godb.cjs')), 'dist/ is built (npm test builds it first)');
    scratch = mkdtempSync(join(tmpdir(), 'x2go-deb-'));
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const newerVersion = `${version}+lifecycle2`;
    debs = { older: build(version, scratch), newer: build(newerVersion, scratch), olderVersion: version, newerVersion };
    users = scenarioUsers();
    restoreReference = await freshReferenceDb('sqlite');
    const setup: Step[] = [
      ['alice', 'x2goinsertsession', '53', SRV, A],
      ['alice', 'x2gocreatesession', A, COOKIE, '3999953', '10.0.0.1', '30051', '30052', '30053', '-1', '-1'],
      ['bob', 'x2goinsertsession', '63', SRV, B],
      ['bob', 'x2gocreatesession', B, COOKIE, '3999963', '10.0.0.2', '30061', '30062', '30063', '-1', '-1'],
    ];
    for (const step of setup) {
      const r = REFERENCE_STEP.sqlite(users, step);
      assert.equal(r.code, 0, `${step[1]}: ${r.stderr}`);
    }
    baseline.statoverrides = statoverrides();
    baseline.diversions = ourDiversions();
    baseline.sqlConfig = existsSync(SQL_CONFIG) ? sha256(SQL_CONFIG) : '';
    const verify = run('/usr/bin/dpkg', ['--verify', ...REFERENCE_PACKAGES]);
    assert.deepEqual([verify.code, verify.stdout], [0, ''], 'x2goserver is as dpkg installed it before we start');
  });

  after(() => {
    rmSync(dirname(DEFAULT_SOCKET), { recursive: true, force: true });
    if (installedVersion().startsWith('i') || installedVersion().startsWith('r')) {
      run('/usr/bin/apt-get', ['-y', 'purge', PACKAGE], { env });
    }
    restoreReference();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  test('apt-get install ./x2go-sessiondb_*.deb: ours in place, the launcher setgid by statoverride, sessions listed', () => {
    const before = listAs('alice');
    assert.match(before, new RegExp(`\\|${A}\\|`));
    const r = apt(['install', debs.older]);
    assert.match(r.stdout, /\/usr\/share\/perl5\/X2Go\/Server\/DB\.pm: ours now/);
    assert.equal(installedVersion(), `ii ${debs.olderVersion}`);
    const st = statSync(LAUNCHER);
    assert.deepEqual([st.mode & 0o7777, st.uid, st.gid], [0o2755, 0, lookupGroupId('x2gouser')]);
    assert.match(statoverrides(), new RegExp(`^root x2gouser 2755 ${LAUNCHER}$`, 'm'));
    const s = status();
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.match(s.stdout, /^implementation: x2go-sessiondb$/m);
    assert.match(s.stdout, /^\/usr\/bin\/x2gostartagent: x2go-sessiondb's/m);
    // Every diversion is the package's, into the root-only reference directory.
    for (const line of ourDiversions().filter((l) => !l.includes('/usr/share/man/'))) {
      assert.match(line, new RegExp(`to ${DEFAULT_PREFIX}/reference/.* by ${PACKAGE}$`));
    }
    assert.equal(statSync(join(DEFAULT_PREFIX, 'reference')).mode & 0o7777, 0o700);
    assert.equal(readlinkSync(WANTS), '/lib/systemd/system/x2gosessiond.service');
    // The reference's own programs, now on ours, list what they listed.
    assert.equal(listAs('alice'), before);
    assert.match(listAs('bob'), new RegExp(`\\|${B}\\|`));
    assert.doesNotMatch(listAs('bob'), new RegExp(A));
  });

  test("apt-get install --reinstall x2goserver libx2go-server-db-perl leaves ours in place, the reference's unusable by users", () => {
    // What our x2gostartagent was made from, as if x2goserver's had changed since: only the
    // package's trigger (refresh) makes status clean again.
    const state = join(DEFAULT_PREFIX, 'x2gostartagent.sha256');
    writeFileSync(state, readFileSync(state, 'utf8').replace(/^original [0-9a-f]{64}$/m, `original ${'0'.repeat(64)}`));
    assert.match(status().stdout, /^\/usr\/bin\/x2gostartagent: STALE/m);
    const r = apt(['install', '--reinstall', ...REFERENCE_PACKAGES]);
    assert.match(r.stdout, /x2go-sessiondb refresh: \/usr\/bin\/x2gostartagent: the patched copy, re-made/);
    const s = status();
    assert.equal(s.code, 0, s.stdout);
    assert.doesNotMatch(s.stdout, /UNSAFE|STALE|MISSING/);
    assert.match(s.stdout, /^implementation: x2go-sessiondb$/m);
    // dpkg put the reference's wrapper (setgid x2gouser by its statoverride) back where it keeps
    // it: behind the root-only directory, where a user cannot even start it.
    const diverted = run('/usr/bin/dpkg-divert', ['--truename', REFERENCE_WRAPPER]).stdout.trim();
    assert.equal(diverted, join(DEFAULT_PREFIX, 'reference', REFERENCE_WRAPPER));
    assert.equal(statSync(diverted).mode & 0o2000, 0o2000);
    assert.throws(() => run(diverted, ['getservers();system(q(id));#'], { as: users.alice as Account }), { code: 'EACCES' });
  });

  test('upgrade to a newer build of ours, then downgrade: ours stays in place, sessions listed', async () => {
    const before = listAs('alice');
    // Without systemd the service is started by hand (postinst says how); an upgrade stops it.
    const service = spawn('/usr/sbin/x2gosessiond', [], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => service.on('exit', resolve));
    for (let waited = 0; !existsSync(DEFAULT_SOCKET); waited += 50) {
      assert.ok(waited < 15_000, 'x2gosessiond came up');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(status().stdout, /^service: up \(pid \d+/m);
    const upgraded = apt(['install', debs.newer]);
    assert.match(upgraded.stdout, new RegExp(`^stopped x2gosessiond \\(pid ${service.pid}\\)$`, 'm'));
    assert.match(
      upgraded.stdout,
      /systemd is not running here: start the service with \/usr\/bin\/node \/usr\/lib\/x2go-sessiondb\/x2gosessiond\.cjs/,
    );
    assert.equal(await exited, 0);
    assert.equal(installedVersion(), `ii ${debs.newerVersion}`);
    assert.equal(statSync(LAUNCHER).mode & 0o7777, 0o2755);
    assert.equal(status().code, 0);
    assert.equal(listAs('alice'), before);
    apt(['install', '--allow-downgrades', debs.older]);
    assert.equal(installedVersion(), `ii ${debs.olderVersion}`);
    assert.equal(statSync(LAUNCHER).mode & 0o7777, 0o2755);
    const s = status();
    assert.equal(s.code, 0, s.stdout);
    assert.equal(listAs('alice'), before);
  });

  test('apt-get remove gives x2goserver back exactly, and the reference lists every session, ours included', () => {
    const inserted = run('/usr/lib/x2go/x2goinsertsession', ['83', SRV, C], { as: users.alice as Account });
    assert.equal(inserted.stdout, 'inserted', inserted.stderr);
    apt(['remove', PACKAGE]);
    assert.match(installedVersion(), /^rc /);
    const verify = run('/usr/bin/dpkg', ['--verify', ...REFERENCE_PACKAGES]);
    assert.deepEqual([verify.code, verify.stdout], [0, ''], verify.stderr);
    assert.equal(statoverrides(), baseline.statoverrides);
    assert.deepEqual(ourDiversions(), baseline.diversions);
    assert.ok(!existsSync(DEFAULT_PREFIX), `${DEFAULT_PREFIX} is gone`);
    assert.ok(!readFileSync('/usr/share/perl5/X2Go/Server/DB.pm', 'utf8').includes(PACKAGE));
    const alice = listAs('alice');
    assert.match(alice, new RegExp(`\\|${A}\\|`));
    assert.match(alice, new RegExp(`\\|${C}\\|`));
    assert.match(listAs('bob'), new RegExp(`\\|${B}\\|`));
  });

  test('apt-get purge removes only what is ours: the database and /etc/x2go stay', () => {
    apt(['purge', PACKAGE]);
    assert.match(installedVersion(), /^(un .*)?$/);
    assert.ok(!existsSync(DSH_STATE), `${DSH_STATE} is gone`);
    assert.throws(() => lstatSync(WANTS), { code: 'ENOENT' });
    assert.ok(existsSync(REFERENCE_DB));
    assert.equal(existsSync(SQL_CONFIG) ? sha256(SQL_CONFIG) : '', baseline.sqlConfig);
    assert.match(listAs('alice'), new RegExp(`\\|${C}\\|`));
    assert.equal(statoverrides(), baseline.statoverrides);
  });
});
