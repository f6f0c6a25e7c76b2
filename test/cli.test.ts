// The built programs as processes: stdout byte for byte as the reference prints it, stderr one
// line, exit codes. Runs as whoever runs the tests, on a database of its own.

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { backToVersion3, createSandbox, type Sandbox } from './support/sandbox.js';

const me = userInfo().username;
const server = hostname().split('.')[0] ?? 'x2goserver';
const sid = (display: number, type = 'D') => `${me}-${display}-17000000${display}_st${type}xfce_dp24`;
const COOKIE = '378b0cdbb51fe1b8147f43a2bccb514d';
const TIME = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d';

function ok(r: { stdout: string; stderr: string; code: number }, stdout: string | RegExp): void {
  assert.equal(r.stderr, '', r.stderr);
  assert.equal(r.code, 0);
  if (typeof stdout === 'string') assert.equal(r.stdout, stdout);
  else assert.match(r.stdout, stdout);
}

function fails(r: { stdout: string; stderr: string; code: number }, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit ${r.code}, stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.split('\n').length, 2, 'exactly one line on stderr');
}

describe('x2godbadmin (SQLite)', () => {
  let box: Sandbox;
  before(() => {
    box = createSandbox();
  });
  after(() => box.remove());

  test('--createdb creates the reference schema at the current version, in WAL mode', () => {
    const r = box.admin(['--createdb']);
    ok(
      r,
      /migration 0001 reference_schema: applied\n.*\n.*\nmigration 0004 row_checks: applied\nmigration 0005 used_ports_session_index: applied\nmigration 0006 farm_operations: applied\n.*schema version 6, journal mode wal\ncreated /,
    );
    assert.equal(statSync(box.dbPath).mode & 0o777, 0o660);
  });

  test('--updatedb is idempotent', () => {
    const r = box.admin(['--updatedb']);
    ok(
      r,
      /migration 0001 reference_schema: already applied\nmigration 0002 tekictrl_port: already applied\nmigration 0003 tekidata_port: already applied\nmigration 0004 row_checks: already applied\nmigration 0005 used_ports_session_index: already applied\nmigration 0006 farm_operations: already applied\n.*schema version 6/,
    );
  });

  test('--createdb refuses to delete a database that holds sessions, unless --force', () => {
    ok(box.helper('x2goinsertsession', ['51', server, sid(51)]), 'inserted');
    const before = box.dump();
    fails(box.admin(['--createdb']), 1, /holds 1 session\(s\); --createdb would delete them\. Use --updatedb .* or --force/);
    assert.equal(box.dump(), before);
    ok(box.admin(['--createdb', '--force']), /^removed .* with 1 session\(s\)\n/);
    ok(box.x2godb(['listsessions_all']), '');
  });

  test("PostgreSQL-only options answer with the reference's message", () => {
    for (const args of [['--listusers'], ['--adduser', 'alice'], ['--rmuser', 'alice'], ['--addgroup', 'users'], ['--rmgroup', 'users']]) {
      fails(box.admin(args), 2, /^x2godbadmin: Only "--createdb" and "--updatedb" options are available with SQLite3 backend\n$/);
    }
  });

  test('usage: --help and no action print it; bad options are one line and exit 2', () => {
    ok(box.admin(['--help']), /^X2Go SQL admin interface\./);
    ok(box.admin([]), /^X2Go SQL admin interface\./);
    fails(box.admin(['--dropdb']), 2, /Unknown option '--dropdb'/);
    fails(box.admin(['--createdb', '--updatedb']), 2, /one action at a time/);
    fails(box.admin(['--updatedb', '--force']), 2, /--force goes with --createdb or --migrate-from-sqlite only/);
    fails(box.admin(['--adduser']), 2, /argument missing/);
  });

  test('a broken configuration is one clear line', () => {
    fails(
      box.admin(['--updatedb'], { env: { X2GO_CONFIG_DIR: '/nonexistent' } }),
      4,
      /cannot read \/nonexistent\/x2gosql\/sql: no such file/,
    );
  });

  test('a migration that fails after a good one: the report shows the good one applied (and it stays), the failed one, the rest not run', () => {
    const broken = createSandbox();
    try {
      ok(broken.admin(['--createdb']), /schema version 6/);
      // Back to version 3 without 0004's triggers (0004 applies again), and a table where 0005's
      // index goes (0005 fails): a file edited by hand.
      const db = new Database(broken.dbPath);
      try {
        backToVersion3(db);
        db.exec('drop index x2go_used_ports_session_id; create table x2go_used_ports_session_id (x)');
      } finally {
        db.close();
      }
      const r = broken.admin(['--updatedb']);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        r.stdout,
        'migration 0001 reference_schema: already applied\nmigration 0002 tekictrl_port: already applied\nmigration 0003 tekidata_port: already applied\n' +
          'migration 0004 row_checks: applied\nmigration 0005 used_ports_session_index: FAILED\nmigration 0006 farm_operations: not run\n',
      );
      assert.match(r.stderr, /^x2godbadmin: apply migration 0005 used_ports_session_index to \S+: SQLite error SQLITE_ERROR\n$/);
      const after = new Database(broken.dbPath, { readonly: true });
      try {
        assert.equal(after.pragma('user_version', { simple: true }), 4);
      } finally {
        after.close();
      }
    } finally {
      broken.remove();
    }
  });
});

describe('x2godb: the wrapper commands, stdout as the reference prints it', () => {
  let box: Sandbox;
  before(() => {
    box = createSandbox();
    box.admin(['--createdb']);
  });
  after(() => box.remove());

  test('a session from start to purge', () => {
    ok(box.x2godb(['insertsession', '51', server, sid(51)]), 'ok');
    for (const port of ['30001', '30002', '30003']) ok(box.x2godb(['insertport', server, sid(51), port]), 'ok');
    ok(box.x2godb(['createsession', sid(51), COOKIE, '4242', '10.0.0.1', '30001', '30002', '30003', '-1', '-1']), 'ok');
    const row = new RegExp(
      `^4242\\|${sid(51)}\\|51\\|${server}\\|R\\|${TIME}\\|${COOKIE}\\|10\\.0\\.0\\.1\\|30001\\|30002\\|${TIME}\\|${me}\\|\\d+\\|30003\\|-1\\|-1$`,
    );
    ok(box.x2godb(['listsessions', server]), row);
    ok(box.x2godb(['listsessions_all']), row);
    ok(box.x2godb(['getdisplays', server]), '|51|');
    ok(box.x2godb(['getports', server]), '|30001|\n|30002|\n|30003|');
    ok(box.x2godb(['getservers']), server);
    ok(box.x2godb(['getagent', sid(51)]), '4242');
    ok(box.x2godb(['getdisplay', sid(51)]), '51');
    ok(box.x2godb(['changestatus', 'S', sid(51)]), 'ok');
    ok(box.x2godb(['getstatus', sid(51)]), 'S');
    ok(box.x2godb(['resume', '10.0.0.2', sid(51), '30001', '30002', '30003', '-1', '-1']), 'ok');
    ok(box.x2godb(['getstatus', sid(51)]), 'R');
    ok(box.x2godb(['insertmount', sid(51), '/tmp/.x2go-u/media/disk/_home', '10.0.0.2']), 'ok');
    // Already mounted: the reference's wrapper prints nothing and exits 0.
    ok(box.x2godb(['insertmount', sid(51), '/tmp/.x2go-u/media/disk/_home', '10.0.0.2']), '');
    ok(box.x2godb(['getmounts', sid(51)]), '10.0.0.2|/tmp/.x2go-u/media/disk/_home');
    ok(box.x2godb(['deletemount', sid(51), '/tmp/.x2go-u/media/disk/_home']), 'ok');
    ok(box.x2godb(['getmounts', sid(51)]), '');
    ok(box.x2godb(['rmport', server, sid(51), '30003']), 'ok');
    ok(box.x2godb(['changestatus', 'F', sid(51)]), 'ok');
    ok(box.x2godb(['listsessions', server]), '');
    // The database file is this user's own, so the root-only commands run for them.
    ok(box.x2godb(['listsessionsroot', server]), new RegExp(`^4242\\|${sid(51)}\\|.*\\|F\\|.*\\|-1\\|-1$`));
    ok(box.x2godb(['deletemounts', sid(51)]), 'ok');
    ok(box.x2godb(['rmsessionsroot', sid(51)]), 'ok');
    ok(box.x2godb(['listsessionsroot_all']), '');
    ok(box.x2godb(['getports', server]), '');
  });

  test('unknown values print nothing, as the reference', () => {
    ok(box.x2godb(['getstatus', sid(59)]), '');
    ok(box.x2godb(['getagent', sid(59)]), '');
  });

  test('failures: a clash or a missing session is exit 1 with one line, nothing printed on stdout', () => {
    ok(box.x2godb(['insertsession', '52', server, sid(52)]), 'ok');
    fails(box.x2godb(['insertsession', '52', server, sid(53)]), 1, /display 52 is already in use/);
    fails(box.x2godb(['insertport', server, sid(53), '30001']), 1, /no session .* in the session database/);
    fails(box.x2godb(['createsession', sid(53), COOKIE, '1', '10.0.0.1', '1', '2', '3', '-1', '-1']), 1, /no session/);
  });

  test('--json prints the same data as JSON', () => {
    const rows = JSON.parse(box.x2godb(['--json', 'listsessions_all']).stdout) as { sessionId: string; uname: string }[];
    assert.deepEqual(
      rows.map((r) => [r.sessionId, r.uname]),
      [[sid(52), me]],
    );
    assert.deepEqual(JSON.parse(box.x2godb(['--json', 'getdisplays', server]).stdout), [52]);
    assert.deepEqual(JSON.parse(box.x2godb(['--json', 'getservers']).stdout), [{ server, sessions: 1 }]);
  });

  test('--help lists every command; usage mistakes are exit 2', () => {
    ok(box.x2godb(['--help']), /insertsession <display> <server> <session_id>\n/);
    fails(box.x2godb([]), 2, /no command given/);
    fails(box.x2godb(['dropdatabase']), 2, /unknown command 'dropdatabase'/);
    fails(box.x2godb(['--verbose', 'getservers']), 2, /unknown option --verbose/);
    fails(box.x2godb(['getservers', 'extra']), 2, /getservers takes 0 argument\(s\)/);
    fails(box.x2godb(['--config']), 2, /--config needs a directory/);
  });

  test('--config chooses the configuration directory (X2GO_CONFIG_DIR likewise)', () => {
    ok(box.x2godb(['--config', box.configDir, 'getdisplays', server], { env: { X2GO_CONFIG_DIR: '/nonexistent' } }), '|52|');
    fails(box.x2godb(['getdisplays', server], { env: { X2GO_CONFIG_DIR: '/nonexistent' } }), 4, /cannot read/);
  });

  test('a missing database file is one line naming what to do', () => {
    const empty = createSandbox();
    try {
      fails(empty.x2godb(['getservers']), 4, /cannot open the file .*x2godbadmin --createdb/);
    } finally {
      empty.remove();
    }
  });
});

describe('the reference helper entry points (dist/helpers)', () => {
  let box: Sandbox;
  before(() => {
    box = createSandbox();
    box.admin(['--createdb']);
  });
  after(() => box.remove());

  test('x2gostartagent\'s calls: "inserted", then silence', () => {
    ok(box.helper('x2goinsertsession', ['51', server, sid(51)]), 'inserted');
    ok(box.helper('x2goinsertport', [server, sid(51), '30001']), 'inserted');
    ok(box.helper('x2gocreatesession', [sid(51), COOKIE, '4242', '10.0.0.1', '30001', '30002', '30003', '-1', '-1']), '');
    ok(box.helper('x2gogetdisplays', [server]), '|51|');
    ok(box.helper('x2gogetports', [server]), '|30001|');
    ok(box.helper('x2gogetagent', [sid(51)]), '4242');
    ok(box.helper('x2gogetservers', []), server);
  });

  test('x2goresume defaults the telekinesis ports to -1; x2gochangestatus and x2gormport print nothing', () => {
    ok(box.helper('x2gochangestatus', ['S', sid(51)]), '');
    ok(box.helper('x2gogetstatus', [sid(51)]), 'S');
    ok(box.helper('x2goresume', ['10.0.0.3', sid(51), '30001', '30002', '30003']), '');
    ok(box.helper('x2gogetstatus', [sid(51)]), 'R');
    ok(box.helper('x2gormport', [server, sid(51), '30001']), '');
    ok(box.helper('x2gogetports', [server]), '');
    fails(box.helper('x2goresume', ['10.0.0.3', sid(51), '30001', '30002']), 2, /x2goresume takes 5 to 7 argument/);
  });

  test('x2golistsessions_sql prints each row with a newline and purges finished sessions whose agent is gone', () => {
    ok(box.helper('x2goinsertsession', ['52', server, sid(52)]), 'inserted');
    // Agent pid of this test process: its command line does not name the session, so it counts as gone.
    ok(box.helper('x2gocreatesession', [sid(52), COOKIE, String(process.pid), '10.0.0.1', '30011', '30012', '30013', '-1', '-1']), '');
    ok(box.helper('x2gochangestatus', ['F', sid(52)]), '');
    const r = box.helper('x2golistsessions_sql', [server]);
    ok(r, new RegExp(`^4242\\|${sid(51)}\\|.*\\|R\\|.*\\n${process.pid}\\|${sid(52)}\\|.*\\|F\\|.*\\n$`));
    ok(box.helper('x2golistsessions_sql', ['--all-servers']), new RegExp(`^4242\\|${sid(51)}\\|[^\\n]*\\n$`));
  });

  test('a name that is not a reference helper runs the multi-call CLI', () => {
    ok(box.x2godb(['getdisplays', server]), '|51|');
  });
});
