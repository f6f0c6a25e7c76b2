// SQLite to PostgreSQL, live (issue 14, item 4): a server adopted from the reference, whose
// session database the reference's own x2godbadmin and helpers made (sessions, ports, mounts, a
// desktop-sharing session), runs our resident service on it; then the switch as the README's
// farm guide says: stop the service, x2godbadmin --migrate-from-sqlite, backend=postgres, start.
// The reference's listings before and ours after agree (times included), the sessions that were
// running are suspended, resumed and terminated through our helpers afterwards, a second run
// changes nothing, and a database holding other sessions is refused unless --force.

import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { lookupGroupId } from '../src/system/accounts.js';
import { NEEDS_ROOT, NEEDS_X2GOUSER, POSTGRES } from './support/backends.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { PG_ADMIN_PASSWORD, pgDump, pgPort, superuser } from './support/postgres.js';
import { freshReferenceDb, REFERENCE_DB } from './support/reference.js';
import { hasCompiler, hasReference } from './support/requirements.js';
import { createSandbox, type Sandbox } from './support/sandbox.js';
import { A, A2_DESKTOP, B, COOKIE, runReferenceSqlite, SHARE, SRV, scenarioUsers, type Step, type Users } from './support/scenario.js';
import { type RunningService, startService } from './support/service.js';

const needs = POSTGRES.needs(
  NEEDS_ROOT,
  [hasReference, 'the reference (apt-get install x2goserver)'],
  [hasCompiler, '/usr/bin/cc'],
  NEEDS_X2GOUSER,
);

const DATABASE = 'x2go_migrate';
const MOUNT = '/tmp/.x2go-alice/media/disk/_home_alice';

/** What the reference's own helpers make: three desktops (one suspended), ports, mounts, a shared desktop. */
const MADE_BY_REFERENCE: Step[] = [
  ['alice', 'x2goinsertsession', '51', SRV, A],
  ['alice', 'x2goinsertport', SRV, A, '30001'],
  ['alice', 'x2goinsertport', SRV, A, '30002'],
  ['alice', 'x2goinsertport', SRV, A, '30003'],
  ['alice', 'x2gocreatesession', A, COOKIE, '3999991', '10.1.2.3', '30001', '30002', '30003', '-1', '-1'],
  ['alice', 'wrapper', 'insertmount', A, MOUNT, '10.1.2.3'],
  ['alice', 'wrapper', 'insertmount', A, '/tmp/.x2go-alice/media/disk/_data', '10.1.2.3'],
  ['alice', 'x2goinsertsession', '52', SRV, A2_DESKTOP],
  ['alice', 'x2goinsertport', SRV, A2_DESKTOP, '30004'],
  ['alice', 'x2gocreatesession', A2_DESKTOP, COOKIE, '3999994', '10.1.2.3', '30004', '30005', '30006', '-1', '-1'],
  ['alice', 'x2gochangestatus', 'S', A2_DESKTOP],
  ['bob', 'x2goinsertsession', '61', SRV, B],
  ['bob', 'x2goinsertport', SRV, B, '30011'],
  ['bob', 'x2gocreatesession', B, COOKIE, '3999992', '10.1.2.4', '30011', '30012', '30013', '-1', '-1'],
  ['alice', 'x2goinsertshadowsession', '71', SRV, SHARE, 'bob'],
  ['alice', 'x2goinsertport', SRV, SHARE, '30021'],
  ['alice', 'x2gocreateshadowsession', SHARE, COOKIE, '3999993', SRV, '30021', '30022', '30023', 'bob'],
];

/** The listings compared before and after: [user, wrapper command, ...args]. */
const LISTINGS: Step[] = [
  ['alice', 'wrapper', 'listsessions_all'],
  ['bob', 'wrapper', 'listsessions_all'],
  ['bob', 'wrapper', 'listshadowsessions_all'],
  ['alice', 'wrapper', 'getmounts', A],
  ['alice', 'wrapper', 'getdisplays', SRV],
  ['root', 'wrapper', 'listsessionsroot_all'],
];

/** The age column (seconds since the start) moves on; everything else must stay, times too. */
function withoutAge(stdout: string): string {
  return stdout
    .split('\n')
    .map((line) => {
      const fields = line.split('|');
      if (fields.length === 14 || fields.length === 16) fields[12] = '<age>';
      return fields.join('|');
    })
    .sort()
    .join('\n');
}

function writeServerConfig(box: Sandbox, backend: 'sqlite' | 'postgres'): void {
  writeFileSync(
    join(box.configDir, 'x2gosql', 'sql'),
    `backend=${backend}\n\n[sqlite]\npath=${REFERENCE_DB}\n\n[postgres]\nhost=localhost\nport=${pgPort()}\ndbadmin=postgres\nssl=prefer\ndatabase=${DATABASE}\n`,
  );
}

async function query(statement: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const sql = superuser(DATABASE);
  try {
    return [...(await sql.unsafe(statement, params as never[]))];
  } finally {
    await sql.end();
  }
}

async function dropDatabase(): Promise<void> {
  const sql = superuser();
  try {
    await sql.unsafe(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  } finally {
    await sql.end();
  }
}

describe('x2godbadmin --migrate-from-sqlite: a live server moves from SQLite to PostgreSQL', needs.options, () => {
  let restore: () => void = () => {};
  let box: Sandbox;
  let inst: Installed;
  let users: Users;
  let service: RunningService | undefined;
  const ours = (step: Step) => {
    const [who, program, ...args] = step;
    return program === 'wrapper' ? inst.x2godb(args, users[who]) : inst.helper(program, args, users[who]);
  };
  const listings = (through: (step: Step) => { stdout: string; code: number; stderr: string }) =>
    LISTINGS.map((step) => {
      const r = through(step);
      assert.equal(r.code, 0, `${step.join(' ')}: ${r.stderr}`);
      return `${step.join(' ')}\n${withoutAge(r.stdout)}`;
    });
  let referenceBefore: string[];

  before(async () => {
    needs.check();
    users = scenarioUsers();
    await dropDatabase();
    // The reference's database, made by its own x2godbadmin and helpers.
    restore = await freshReferenceDb('sqlite');
    for (const step of MADE_BY_REFERENCE) {
      const r = runReferenceSqlite(users, step);
      assert.equal(r.code, 0, `${step.join(' ')}: ${r.stderr}`);
    }
    referenceBefore = listings((step) => runReferenceSqlite(users, step));
    box = createSandbox('x2godb-migrate-');
    mkdirSync(join(box.configDir, 'x2gosql', 'passwords'), { recursive: true });
    writeFileSync(join(box.configDir, 'x2gosql', 'passwords', 'pgadmin'), `${PG_ADMIN_PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(join(box.configDir, 'x2goserver.conf'), '[telekinesis]\nenable=yes\n');
    writeServerConfig(box, 'sqlite');
    // Adopted as `install` adopts it: our migrations on the reference's file (0006 adds the history).
    const updated = box.admin(['--updatedb']);
    assert.equal(updated.code, 0, updated.stderr);
    chownSync(REFERENCE_DB, 0, lookupGroupId('x2gouser') ?? 0);
    chmodSync(REFERENCE_DB, 0o660);
    // History, as our service records it from 0006 on (a suspension and a start of alice's).
    const db = new Database(REFERENCE_DB);
    const event = db.prepare(
      'insert into session_events (at, session_id, uname, server, event, client, by_uid) values (?, ?, ?, ?, ?, ?, ?)',
    );
    event.run('2026-11-30 09:00:00.125', A2_DESKTOP, 'alice', SRV, 'started', '10.1.2.3', 1001);
    event.run('2026-11-30 09:30:00.500', A2_DESKTOP, 'alice', SRV, 'suspended', null, 1001);
    db.close();
    inst = installLauncher(box, { service: false });
    service = await startService(box.configDir, inst.socket);
  });

  after(async () => {
    await service?.stop();
    restore();
    box?.remove();
    await dropDatabase();
  });

  test('before: our service on SQLite lists what the reference lists', () => {
    assert.deepEqual(listings(ours), referenceBefore);
  });

  test('the switch: stop, migrate, backend=postgres, start; the listings agree with the reference', async () => {
    assert.equal(await service?.stop(), 0);
    const r = box.admin(['--migrate-from-sqlite']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /sessions: 4 copied, 0 already in x2go_migrate/);
    assert.match(r.stdout, /ports: 6 copied/);
    assert.match(r.stdout, /mounts: 2 copied/);
    assert.match(r.stdout, /history: 2 event\(s\) copied/);
    assert.match(r.stdout, /x2gouser_alice: /);
    assert.match(r.stdout, /x2gouser_bob: /);
    assert.match(r.stdout, /checked: all 4 session\(s\)/);
    writeServerConfig(box, 'postgres');
    service = await startService(box.configDir, inst.socket);
    assert.deepEqual(listings(ours), referenceBefore);
    // Owned by the role whose helpers made each row: the shared desktop by its owner, alice.
    const rows = await query('select session_id, uname, creator_id from sessions order by session_id');
    assert.deepEqual(
      rows.map((x) => [x.session_id, x.uname, x.creator_id]),
      [
        [A, 'alice', 'x2gouser_alice'],
        [A2_DESKTOP, 'alice', 'x2gouser_alice'],
        [B, 'bob', 'x2gouser_bob'],
        [SHARE, 'bob', 'x2gouser_alice'],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    const events = await query('select event, at from session_events where session_id = $1 order by at', [A2_DESKTOP]);
    assert.deepEqual(
      events.map((e) => [e.event, (e.at as Date).toISOString()]),
      [
        ['started', '2026-11-30T09:00:00.125Z'],
        ['suspended', '2026-11-30T09:30:00.500Z'],
      ],
    );
  });

  test('the sessions that ran during the switch are suspended, resumed and terminated through our helpers', () => {
    const steps: [Step, string][] = [
      [['alice', 'x2gochangestatus', 'S', A], ''],
      [['alice', 'x2gogetstatus', A], 'S'],
      [['alice', 'x2goresume', '10.1.2.9', A, '30001', '30002', '30003'], ''],
      [['alice', 'x2gogetstatus', A], 'R'],
      [['alice', 'x2goresume', '10.1.2.9', A2_DESKTOP, '30004', '30005', '30006'], ''],
      [['alice', 'x2gogetstatus', A2_DESKTOP], 'R'],
      [['alice', 'x2gochangestatus', 'S', SHARE], ''],
      [['bob', 'x2gochangestatus', 'S', B], ''],
      [['bob', 'x2goresume', '10.1.2.8', B, '30011', '30012', '30013'], ''],
      [['bob', 'x2gochangestatus', 'F', B], ''],
      [['bob', 'x2gogetstatus', B], 'F'],
      [['alice', 'x2gochangestatus', 'F', A], ''],
      [['alice', 'x2gogetstatus', A], 'F'],
    ];
    for (const [step, out] of steps) {
      const r = ours(step);
      assert.deepEqual([r.code, r.stdout.trim(), r.stderr], [0, out, ''], step.join(' '));
    }
  });

  test('a second run changes nothing (and says the sessions changed since are kept)', async () => {
    const before = await pgDump(DATABASE);
    const r = box.admin(['--migrate-from-sqlite', REFERENCE_DB]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sessions: 0 copied, 4 already in x2go_migrate \(4 changed there since; kept as they are\)/);
    assert.match(r.stdout, /history: 0 event\(s\) copied, 2 already there/);
    assert.equal(await pgDump(DATABASE), before);
  });

  test('a database holding other sessions is refused unless --force; nothing written', async () => {
    const other = createSandbox('x2godb-migrate-other-');
    try {
      assert.equal(other.admin(['--createdb']).code, 0);
      // One session of a server that is not in the target (display 90, no clash).
      const db = new Database(other.dbPath);
      db.prepare("insert into sessions (session_id, display, uname, server, status) values (?, 90, 'alice', 'x2go-other', 'S')").run(
        'alice-90-1700000090_stDxfce_dp24',
      );
      db.close();
      const before = await pgDump(DATABASE);
      const refused = box.admin(['--migrate-from-sqlite', other.dbPath]);
      assert.equal(refused.code, 1, refused.stdout);
      assert.match(
        refused.stderr,
        new RegExp(
          `^x2godbadmin: database x2go_migrate at localhost:${pgPort()} holds 4 session\\(s\\) that .* does not have; add --force`,
        ),
      );
      assert.equal(refused.stdout, '');
      assert.equal(await pgDump(DATABASE), before);
      const forced = box.admin(['--migrate-from-sqlite', other.dbPath, '--force']);
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(forced.stdout, /sessions: 1 copied, 0 already/);
      const listed = ours(['root', 'wrapper', 'listsessionsroot_all']);
      assert.match(listed.stdout, /alice-90-1700000090_stDxfce_dp24/);
    } finally {
      other.remove();
    }
  });

  test('usage: a FILE without the action, two files, a missing file: one line, nothing written', () => {
    const cases: [string[], RegExp][] = [
      [['--updatedb', 'x'], /unexpected argument 'x'/],
      [['--migrate-from-sqlite', 'a', 'b'], /unexpected argument 'b'/],
      [['--migrate-from-sqlite', '/nonexistent/x2go_sessions'], /\/nonexistent\/x2go_sessions: no such file/],
    ];
    for (const [args, message] of cases) {
      const r = box.admin(args);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    }
    assert.ok(readFileSync(join(box.configDir, 'x2gosql', 'sql'), 'utf8').includes('backend=postgres'));
  });
});
