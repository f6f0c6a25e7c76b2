// The reference and ours on PostgreSQL. The reference's own x2godbadmin creates x2go_sessions
// and its users; a copy of that database (CREATE DATABASE ... TEMPLATE) is upgraded by our
// --updatedb; then one scenario runs through the reference's helpers and DB.pm and through ours
// (the installed launcher), as the same real users, and every step's output and the final rows
// must match. After that, the reference's database itself is upgraded in place and Perl and ours
// share it: a mixed farm.

import assert from 'node:assert/strict';
import { copyFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WRAPPER_NAME } from '../src/install/install-launcher.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { createPgSandbox, ensurePostgres, PG_ADMIN_PASSWORD, superuser, writePgConfig, type PgSandbox } from './support/postgres.js';
import { normalizeUnordered } from './support/listing.js';
import { REFERENCE_PASSWORDS, REFERENCE_PG_DB, runReference, runReferenceDbpm, useReferencePostgres } from './support/reference.js';
import { NEEDS_ROOT, POSTGRES } from './support/backends.js';
import { hasCompiler, hasReference } from './support/requirements.js';
import {
  A,
  A2_RDP,
  B,
  COOKIE,
  DATA,
  HOME,
  runOurs,
  runReferencePostgres,
  scenarioUsers,
  SHARE,
  SRV,
  type Step,
  type Users,
} from './support/scenario.js';
import { run, type Result } from './support/system.js';

const needs = POSTGRES.needs(
  NEEDS_ROOT,
  [hasReference, 'the reference (apt-get install x2goserver libdbd-pg-perl pwgen)'],
  [hasCompiler, '/usr/bin/cc'],
);

const A2 = A2_RDP;
const REFERENCE_DB = REFERENCE_PG_DB;
const OUR_COPY = 'x2go_ours';

// Steps: 'wrapper' is our wrapper-compatible CLI and the reference's DB.pm (support/scenario.ts).

// As on SQLite, minus what the reference cannot do on PostgreSQL (getstatus, desktop-sharing
// listings for the viewer, root reading the views): those are in the differences test below.
const SCENARIO: Step[] = [
  ['alice', 'x2goinsertsession', '51', SRV, A],
  ['alice', 'x2goinsertport', SRV, A, '30001'],
  ['alice', 'x2goinsertport', SRV, A, '30002'],
  ['alice', 'x2goinsertport', SRV, A, '30003'],
  ['alice', 'x2gocreatesession', A, COOKIE, '3999991', '10.1.2.3', '30001', '30002', '30003', '-1', '-1'],
  ['bob', 'x2goinsertsession', '61', SRV, B],
  ['bob', 'x2goinsertport', SRV, B, '30011'],
  ['bob', 'x2goinsertport', SRV, B, '30012'],
  ['bob', 'x2gocreatesession', B, COOKIE, '3999992', '10.1.2.4', '30011', '30012', '30013', '-1', '-1'],
  ['alice', 'x2goinsertsession', '52', SRV, A2],
  ['alice', 'wrapper', 'listsessions', SRV],
  ['alice', 'wrapper', 'listsessions_all'],
  ['bob', 'wrapper', 'listsessions_all'],
  ['alice', 'x2gogetdisplays', SRV],
  ['alice', 'x2gogetports', SRV],
  ['bob', 'x2gogetservers'],
  ['alice', 'x2gochangestatus', 'S', A],
  ['alice', 'wrapper', 'listsessions', SRV],
  ['alice', 'x2goresume', '10.1.2.5', A, '30001', '30002', '30003'],
  ['alice', 'x2gogetagent', A],
  ['alice', 'wrapper', 'getdisplay', A],
  ['alice', 'wrapper', 'insertmount', A, HOME, '10.1.2.5'],
  ['alice', 'wrapper', 'insertmount', A, HOME, '10.1.2.5'],
  ['alice', 'wrapper', 'insertmount', A, DATA, '10.1.2.5'],
  ['alice', 'wrapper', 'getmounts', A],
  ['alice', 'wrapper', 'deletemount', A, DATA],
  ['alice', 'wrapper', 'getmounts', A],
  ['alice', 'x2goinsertshadowsession', '71', SRV, SHARE, 'bob'],
  ['alice', 'x2goinsertport', SRV, SHARE, '30021'],
  ['alice', 'x2gocreateshadowsession', SHARE, COOKIE, '3999993', '10.1.2.9', '30021', '30022', '30023', 'bob'],
  ['alice', 'x2gochangestatus', 'S', SHARE],
  ['alice', 'x2gormport', SRV, A, '30003'],
  ['alice', 'wrapper', 'rmport', SRV, A, '30002'],
  ['root', 'x2golistsessions_sql', SRV],
  ['root', 'wrapper', 'listsessionsroot', SRV],
  ['alice', 'x2gochangestatus', 'F', A2],
  ['bob', 'x2gochangestatus', 'T', B],
  ['bob', 'wrapper', 'changestatus', 'F', B],
  ['root', 'x2golistsessions_sql', '--all-servers'],
  ['root', 'wrapper', 'listsessionsroot_all'],
  ['root', 'wrapper', 'rmsessionsroot', A],
  ['root', 'wrapper', 'listsessionsroot_all'],
  ['alice', 'x2gogetports', SRV],
  // Refusals print nothing on stdout in both.
  ['bob', 'wrapper', 'getagent', A],
  ['bob', 'wrapper', 'listsessionsroot_all'],
  ['alice', 'wrapper', 'insertsession', '71', SRV, 'alice-71-1700000099_stDxfce_dp24'],
];

/** Times also with fractions and a zone, as PostgreSQL writes timestamps as text. */
const TIME = /\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d(:\d\d)?)?/g;
const normalize = (stdout: string) => normalizeUnordered(stdout, TIME);

async function rows(database: string): Promise<string> {
  const sql = superuser(database);
  try {
    const out: string[] = [];
    for (const table of ['sessions', 'used_ports', 'mounts']) {
      for (const row of await sql.unsafe(`select * from ${table}`)) {
        const r = { ...row } as Record<string, unknown>;
        for (const key of ['init_time', 'last_time']) if (key in r) r[key] = '<time>';
        if (typeof r.cookie === 'string') r.cookie = r.cookie.trimEnd();
        out.push(`${table} ${JSON.stringify(r)}`);
      }
    }
    return out.sort().join('\n');
  } finally {
    await sql.end();
  }
}

describe('differential and mixed farm: the reference and ours on PostgreSQL', needs.options, () => {
  let restoreReference: () => void = () => {};
  let box: PgSandbox;
  let inst: Installed;
  let users: Users;

  const reference = (step: Step): Result => runReferencePostgres(users, step);
  const ours = (step: Step): Result => runOurs(inst, users, step);
  /** Our programs against another database of the cluster (the configuration is read per call). */
  function pointOursAt(database: string): void {
    writePgConfig(box.configDir, database);
    copyFileSync(join(REFERENCE_PASSWORDS, 'x2gopgadmin'), join(box.configDir, 'x2gosql', 'passwords', 'x2gopgadmin'));
    chmodSync(join(box.configDir, 'x2gosql', 'passwords', 'x2gopgadmin'), 0o600);
  }

  before(async () => {
    needs.check();
    ensurePostgres();
    restoreReference = useReferencePostgres(PG_ADMIN_PASSWORD);
    users = scenarioUsers();
    const su = superuser();
    for (const db of [OUR_COPY, REFERENCE_DB]) await su.unsafe(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await su.end();
    // The reference makes its database and its users, as on a server that ran it for years.
    for (const args of [['--createdb'], ['--adduser', 'alice'], ['--adduser', 'bob']]) {
      const r = run('/usr/sbin/x2godbadmin', args);
      assert.equal(r.code, 0, `reference x2godbadmin ${args.join(' ')}: ${r.stderr}`);
    }
    const copy = superuser();
    await copy.unsafe(`CREATE DATABASE ${OUR_COPY} TEMPLATE ${REFERENCE_DB}`);
    await copy.end();
    box = createPgSandbox(OUR_COPY);
    pointOursAt(OUR_COPY);
    const upgraded = box.admin(['--updatedb']);
    assert.equal(upgraded.code, 0, upgraded.stderr);
    assert.match(
      upgraded.stdout,
      /0001 reference_schema: found in place, recorded\n.*0002 telekinesis_ports: found in place, recorded\n.*0003 row_level_security: applied/,
    );
    inst = installLauncher(box);
  });
  after(async () => {
    restoreReference();
    const su = superuser();
    await su.unsafe(`DROP DATABASE IF EXISTS ${REFERENCE_DB} WITH (FORCE)`);
    await su.end();
    await box?.drop();
  });

  test(`${SCENARIO.length} steps print the same, and leave the same rows`, async () => {
    let printed = 0;
    SCENARIO.forEach((step) => {
      const theirs = reference(step);
      const mine = ours(step);
      const what = `${step.join(' ')}\nour stderr: ${mine.stderr}\ntheir stderr: ${theirs.stderr}`;
      assert.equal(normalize(mine.stdout), normalize(theirs.stdout), what);
      if (theirs.stdout !== '') printed++;
    });
    // Not a comparison of two silences: most steps print something.
    assert.ok(printed >= 30, `only ${printed} steps printed anything`);
    const final = await rows(REFERENCE_DB);
    assert.match(final, /sessions .*bob-71-/);
    assert.equal(await rows(OUR_COPY), final);
  });

  test('intentional differences: what the reference gets wrong on PostgreSQL, we do', async () => {
    const alice = users.alice;
    const bob = users.bob;
    // getstatus always fails in the reference (a bind value for a statement without placeholders).
    assert.equal(runReferenceDbpm('getstatus', [SHARE], alice).stdout, '');
    assert.equal(ours(['alice', 'wrapper', 'getstatus', SHARE]).stdout, 'S');
    // listshadowsessions_all is invalid SQL ("is like") in the reference.
    assert.equal(runReferenceDbpm('listshadowsessions_all', [], bob).stdout, '');
    assert.match(ours(['bob', 'wrapper', 'listshadowsessions_all']).stdout, new RegExp(`^3999993\\|${SHARE}\\|`));
    // The reference lists a desktop-sharing session only to whoever created it, not to the viewer.
    assert.equal(runReferenceDbpm('listshadowsessions', [SRV], bob).stdout, '');
    assert.match(ours(['bob', 'wrapper', 'listshadowsessions', SRV]).stdout, new RegExp(`^3999993\\|${SHARE}\\|`));
    // Root's role may not read the views in the reference, so root's getservers fails.
    assert.equal(runReferenceDbpm('getservers', []).stdout, '');
    assert.match(ours(['root', 'wrapper', 'getservers']).stdout, /^x2go-test \d+$/);
    // The reference prints the cookie with char(33)'s padding in root listings.
    assert.match(runReference('x2golistsessions_sql', ['--all-servers']).stdout, new RegExp(`\\|${COOKIE} \\|`));
    assert.doesNotMatch(inst.helper('x2golistsessions_sql', ['--all-servers']).stdout, / \|/);
    // The age column wraps at 24 hours in the reference (to_char 'SSSS'); ours counts on.
    for (const db of [REFERENCE_DB, OUR_COPY]) {
      const sql = superuser(db);
      await sql`update sessions set init_time = init_time - interval '2 days 1 hour' where session_id = ${SHARE}`;
      await sql.end();
    }
    const age = (out: string) =>
      Number(
        out
          .split('\n')
          .find((l) => l.includes(SHARE))
          ?.split('|')[12],
      );
    assert.ok(age(runReferenceDbpm('listsessionsroot_all', []).stdout) < 86400);
    assert.ok(age(inst.helper(WRAPPER_NAME, ['listsessionsroot_all']).stdout) >= 2 * 86400 + 3600);
    // A desktop-sharing client is the server's host name; the reference's inet column refused it.
    const sid = 'bob-72-1700000072_stS1XSHADaliceXSHADPP51_dp24';
    assert.equal(ours(['alice', 'x2goinsertshadowsession', '72', SRV, sid, 'bob']).stdout, 'inserted');
    const created = ours(['alice', 'x2gocreateshadowsession', sid, COOKIE, '3999994', SRV, '30031', '30032', '30033', 'bob']);
    assert.equal(created.code, 0, created.stderr);
  });

  test("upgrade in place: the reference's own database, its rows and users, under our --updatedb", async () => {
    const before = await rows(REFERENCE_DB);
    pointOursAt(REFERENCE_DB);
    const r = box.admin(['--updatedb']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /0003 row_level_security: applied\n/);
    assert.equal(await rows(REFERENCE_DB), before);
    assert.match(box.admin(['--updatedb']).stdout, /0003 row_level_security: already applied/);
  });

  test('mixed farm: Perl nodes and ours on the upgraded database, each managing what the other made', () => {
    const alice = users.alice;
    const bob = users.bob;
    const C = 'alice-81-1700000081_stDxfce_dp24';
    const D = 'bob-82-1700000082_stDxfce_dp24';
    // A Perl node starts alice's session; ours finishes the start and lists it.
    assert.equal(runReference('x2goinsertsession', ['81', SRV, C], alice).stdout, 'inserted');
    assert.equal(ours(['alice', 'x2goinsertport', SRV, C, '30081']).stdout, 'inserted');
    assert.equal(runReference('x2goinsertport', [SRV, C, '30082'], alice).stdout, 'inserted');
    assert.equal(ours(['alice', 'x2gocreatesession', C, COOKIE, '3999981', '10.1.2.81', '30081', '30082', '30083', '-1', '-1']).code, 0);
    assert.match(ours(['alice', 'wrapper', 'listsessions', SRV]).stdout, new RegExp(`^3999981\\|${C}\\|81\\|`, 'm'));
    assert.match(runReferenceDbpm('listsessions', [SRV], alice).stdout, new RegExp(`^3999981\\|${C}\\|81\\|`, 'm'));
    // Ours suspends it, the Perl node sees it suspended and resumes it, ours sees that.
    assert.equal(ours(['alice', 'x2gochangestatus', 'S', C]).code, 0);
    assert.match(runReferenceDbpm('listsessions', [SRV], alice).stdout, new RegExp(`\\|${C}\\|81\\|${SRV}\\|S\\|`));
    assert.equal(runReference('x2goresume', ['10.1.2.82', C, '30081', '30082', '30083'], alice).code, 0);
    assert.match(
      ours(['alice', 'wrapper', 'listsessions', SRV]).stdout,
      new RegExp(`\\|${C}\\|81\\|${SRV}\\|R\\|[^|]*\\|[^|]*\\|10\\.1\\.2\\.82\\|`),
    );
    // Mounts: recorded by Perl, listed and removed by ours.
    assert.equal(runReferenceDbpm('insertmount', [C, HOME, '10.1.2.82'], alice).stdout, 'ok');
    assert.equal(ours(['alice', 'wrapper', 'getmounts', C]).stdout, `10.1.2.82|${HOME}`);
    assert.equal(ours(['alice', 'wrapper', 'deletemount', C, HOME]).stdout, 'ok');
    assert.equal(runReferenceDbpm('getmounts', [C], alice).stdout, '');
    // Ours starts bob's session; the Perl node lists and ends it; both see the ports and displays.
    assert.equal(ours(['bob', 'x2goinsertsession', '82', SRV, D]).stdout, 'inserted');
    assert.match(runReferenceDbpm('listsessions_all', [], bob).stdout, new RegExp(`\\|${D}\\|82\\|`));
    assert.equal(runReference('x2gochangestatus', ['F', D], bob).code, 0);
    assert.match(runReference('x2gogetdisplays', [SRV], bob).stdout, /\|81\|/);
    assert.match(ours(['bob', 'x2gogetports', SRV]).stdout, /\|30081\|/);
    // bob still cannot see alice's, whichever node asks.
    assert.doesNotMatch(runReferenceDbpm('listsessions_all', [], bob).stdout, /alice/);
    assert.doesNotMatch(ours(['bob', 'wrapper', 'listsessions_all']).stdout, /alice/);
    // Root: the Perl cleaner lists everything and purges bob's finished session; ours agrees.
    const perlRoot = runReference('x2golistsessions_sql', ['--all-servers']);
    assert.match(perlRoot.stdout, new RegExp(`\\|${D}\\|82\\|${SRV}\\|F\\|`));
    assert.doesNotMatch(inst.helper('x2golistsessions_sql', ['--all-servers']).stdout, new RegExp(D));
    assert.equal(ours(['root', 'wrapper', 'rmsessionsroot', C]).stdout, 'ok');
    assert.doesNotMatch(runReference('x2golistsessions_sql', [SRV]).stdout, new RegExp(C));
  });
});
