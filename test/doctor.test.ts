// Issue 12, item 3: x2go-sessiondb doctor. One fault seeded per check (both backends where the
// check applies): every seeded fault is found and named; a clean farm reports nothing; --fix
// leaves a farm the next doctor calls clean, records each repair in the history, and never
// touches a session whose agent runs. The host's own X displays and setgid programs are kept out
// of the judged checks (--x-root, --skip setgid) so that the suite passes on a live X2Go server;
// the setgid check gets a program planted for it, and --fix leaves packaged programs alone.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lookupGroupId } from '../src/system/accounts.js';
import { BACKENDS, NEEDS_ROOT, NEEDS_X2GOUSER, SQLITE, type BackendKind, type TestDatabase } from './support/backends.js';
import { DIST } from './support/sandbox.js';
import { run, type Result } from './support/system.js';

const NODE = hostname();
const LIVE = 'alice-4301-1700004301_stDxfce_dp24';
const DEAD_AGENT = 'alice-4302-1700004302_stDxfce_dp24';
const WRONG_PID = 'alice-4303-1700004303_stDxfce_dp24';
const OLD_FINISHED = 'alice-4304-1700004304_stDxfce_dp24';
const ON_DEAD_NODE = 'bob-4305-1700004305_stDxfce_dp24';
const NO_X = 'bob-4306-1700004306_stDxfce_dp24';
const DEAD_NODE = 'node-gone';

/** "Two hours ago" in each backend's session time (local time, as the reference stores it). */
const LONG_AGO: Record<BackendKind, string> = {
  sqlite: "datetime('now', 'localtime', '-2 hours')",
  postgres: "localtimestamp - interval '2 hours'",
};

interface Report {
  clean: boolean;
  checks: { name: string; count: number; findings: { subject: string; detail: string; fixable: boolean }[] }[];
  fixed: string[];
}

for (const backend of BACKENDS) {
  const needs = backend.needs(NEEDS_ROOT, NEEDS_X2GOUSER);
  describe(`x2go-sessiondb doctor (${backend.name})`, needs.options, () => {
    let box: TestDatabase;
    let xRoot: string;
    let agent: ChildProcess;

    const doctor = (...args: string[]): Result =>
      run(process.execPath, [join(DIST, 'x2go-sessiondb.cjs'), 'doctor', '--config', box.configDir, '--x-root', xRoot, ...args]);
    const report = (...args: string[]): Report => {
      const r = doctor('--json', '--skip', 'setgid', ...args);
      assert.ok(r.code === 0 || r.code === 1, r.stderr);
      return JSON.parse(r.stdout) as Report;
    };
    const found = (r: Report, check: string): string[] => r.checks.find((c) => c.name === check)?.findings.map((f) => f.subject) ?? [];

    async function addSession(
      sid: string,
      opts: { display: number; status?: string; pid?: number | null; server?: string; old?: boolean },
    ) {
      const user = sid.split('-')[0];
      await box.query(
        `insert into sessions (session_id, display, uname, server, status, agent_pid, cookie, client, init_time, last_time)
         values (?, ?, ?, ?, ?, ?, '378b0cdbb51fe1b8147f43a2bccb514d', '10.0.0.9', ${LONG_AGO[backend.kind]}, ${opts.old === false ? (backend.kind === 'sqlite' ? "datetime('now','localtime')" : 'localtimestamp') : LONG_AGO[backend.kind]})`,
        [sid, opts.display, user, opts.server ?? NODE, opts.status ?? 'R', opts.pid ?? null],
      );
    }
    const holdDisplay = (display: number, pid = agent.pid) => writeFileSync(join(xRoot, `.X${display}-lock`), `${pid}\n`);

    before(async () => {
      needs.check();
      box = await backend.createDatabase({ database: 'x2go_doctor', users: ['alice', 'bob'] });
      xRoot = mkdtempSync(join(tmpdir(), 'x2go-doctor-x-'));
      mkdirSync(join(xRoot, '.X11-unix'));
      // A stand-in agent: its command line names the session, as x2goagent's does.
      agent = spawn('bash', ['-c', `exec -a "x2goagent-stand-in ${LIVE}" sleep 600`], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 200));
      await addSession(LIVE, { display: 4301, pid: agent.pid ?? null });
      holdDisplay(4301);
    });
    after(async () => {
      agent?.kill('SIGKILL');
      if (xRoot) rmSync(xRoot, { recursive: true, force: true });
      if (box) await box.drop();
    });

    test('a clean farm: nothing found, exit 0 (no false positives)', () => {
      const r = doctor('--skip', 'setgid');
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /clean\n$/);
      assert.equal(report().clean, true);
    });

    test('seeded faults: each found and named by its check', async () => {
      // A pid that ran and is gone, and one that runs but is not this session's agent (ours).
      const gone = spawnSync('true').pid;
      await addSession(DEAD_AGENT, { display: 4302, pid: gone });
      await addSession(WRONG_PID, { display: 4303, pid: process.pid, status: 'S' });
      await addSession(OLD_FINISHED, { display: 4304, status: 'F' });
      // Their X lock files, left behind: the one of a dead agent goes with its session.
      holdDisplay(4302, gone);
      writeFileSync(join(xRoot, '.X11-unix', 'X4302'), '');
      holdDisplay(4303, gone);
      await box.query('insert into used_ports (server, session_id, port) values (?, null, 43999)', [NODE]);
      await box.query("insert into mounts (session_id, path, client) values (null, '/tmp/.x2go-alice/media/disk/_gone', '10.0.0.9')");
      if (backend.kind === 'postgres') {
        await box.query(`insert into nodes (server, version, last_seen) values (?, 'test', now() - interval '1 hour')`, [DEAD_NODE]);
        await box.query(`insert into nodes (server, version, state) values ('node-drained', 'test', 'draining')`);
        await addSession(ON_DEAD_NODE, { display: 4305, server: DEAD_NODE });
        await box.query('delete from x2go_schema_migrations where version = 6');
        await box.query('revoke x2gouser_bob from x2gosessiond');
        chmodSync(join(box.configDir, 'x2gosql', 'passwords', 'x2gopgadmin'), 0o644);
      } else {
        await box.query('pragma user_version = 5');
        chmodSync(box.dbPath, 0o666);
      }
      const r = report();
      assert.equal(r.clean, false);
      assert.deepEqual(found(r, 'agents').sort(), [DEAD_AGENT, WRONG_PID]);
      assert.deepEqual(found(r, 'orphan-ports'), [`port 43999 on ${NODE}`]);
      assert.deepEqual(found(r, 'orphan-mounts'), ['10.0.0.9:/tmp/.x2go-alice/media/disk/_gone']);
      assert.deepEqual(found(r, 'old-finished'), [OLD_FINISHED]);
      assert.deepEqual(found(r, 'schema'), ['schema version 5']);
      if (backend.kind === 'postgres') {
        assert.deepEqual(found(r, 'down-nodes'), [ON_DEAD_NODE]);
        assert.deepEqual(found(r, 'drained'), ['node-drained']);
        // Reported, never acted on: the administrator undrains it (or stops the node).
        await box.query("update nodes set state = 'active' where server = 'node-drained'");
        assert.deepEqual(found(r, 'setup'), ['x2gouser_bob', join(box.configDir, 'x2gosql', 'passwords', 'x2gopgadmin')]);
      } else {
        assert.deepEqual(found(r, 'down-nodes'), []);
        // The file, and the companions SQLite made with its mode.
        assert.equal(found(r, 'setup')[0], box.dbPath);
        assert.ok(found(r, 'setup').every((f) => f.startsWith(box.dbPath)));
      }
      assert.deepEqual(found(r, 'displays'), []);
      assert.ok(!JSON.stringify(r).includes(LIVE), 'the live session is named by no check');
      // The text report: a count per check and the rows named.
      const text = doctor('--skip', 'setgid');
      assert.equal(text.code, 1);
      assert.match(text.stdout, /^FOUND agents: .* \(2\)\n {8}alice-4302-.*: R, display 4302: pid \d+ is not its x2goagent\n/m);
      assert.match(text.stdout, /^ok {4}displays: /m);
    });

    test('--fix repairs what is safe, one line each, recorded in the history; the next doctor is clean; the live session is untouched', async () => {
      const fixable = report().checks.flatMap((c) => c.findings.filter((f) => f.fixable));
      const fix = doctor('--fix', '--skip', 'setgid');
      assert.equal(fix.code, 1, fix.stderr);
      const fixed = fix.stdout.split('\n').filter((l) => l.startsWith('fixed: '));
      assert.equal(fixed.length, fixable.length, fix.stdout + fix.stderr);
      assert.ok(
        fixed.includes(`fixed: ${DEAD_AGENT}: marked F and purged (agent gone); removed ${xRoot}/.X11-unix/X4302, ${xRoot}/.X4302-lock`),
        fix.stdout,
      );
      assert.ok(existsSync(join(xRoot, '.X4301-lock')), "the live session's lock file stays");
      const again = doctor('--skip', 'setgid');
      assert.equal(again.code, 0, again.stdout);
      const [live] = await box.query<{ status: string }>('select status from sessions where session_id = ?', [LIVE]);
      assert.equal(live?.status, 'R');
      const events = await box.query<{ session_id: string; event: string }>(
        "select session_id, event from session_events where event = 'fixed' order by session_id",
      );
      const ended =
        backend.kind === 'postgres' ? [DEAD_AGENT, WRONG_PID, OLD_FINISHED, ON_DEAD_NODE] : [DEAD_AGENT, WRONG_PID, OLD_FINISHED];
      for (const sid of ended)
        assert.ok(
          events.some((e) => e.session_id === sid),
          `a 'fixed' event for ${sid}`,
        );
      assert.equal(events.length, ended.length + 2, 'and one each for the port and the mount');
      if (backend.kind === 'sqlite') assert.equal(statSync(box.dbPath).mode & 0o777, 0o660);
    });

    test('displays: a session without its X server and an X server without a session are reported, never "fixed"', async () => {
      await addSession(NO_X, { display: 4306, pid: agent.pid ?? null });
      // The stand-in's command line names LIVE only; give NO_X an agent of its own.
      const second = spawn('bash', ['-c', `exec -a "x2goagent-stand-in ${NO_X}" sleep 600`], { stdio: 'ignore' });
      try {
        await new Promise((r) => setTimeout(r, 200));
        await box.query('update sessions set agent_pid = ? where session_id = ?', [second.pid, NO_X]);
        await box.query(`update sessions set last_time = ${LONG_AGO[backend.kind]} where session_id = ?`, [NO_X]);
        holdDisplay(4399);
        const r = report('--fix');
        assert.deepEqual(found(r, 'displays'), [NO_X, 'display 4399']);
        assert.deepEqual(r.fixed, []);
        const [row] = await box.query<{ status: string }>('select status from sessions where session_id = ?', [NO_X]);
        assert.equal(row?.status, 'R', 'a session whose agent runs is never touched');
      } finally {
        second.kill('SIGKILL');
        rmSync(join(xRoot, '.X4399-lock'));
        await box.query('delete from sessions where session_id = ?', [NO_X]);
      }
    });

    test('--only and --skip take check names; an unknown one is one line, exit 2, nothing run', () => {
      const r = doctor('--only', 'agents,nonsense');
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^x2go-sessiondb: no check named nonsense; the checks are agents, /);
      assert.equal(r.stderr.split('\n').length, 2);
    });
  });
}

const setgidNeeds = SQLITE.needs(NEEDS_ROOT, NEEDS_X2GOUSER, [existsSync('/usr/lib/x2go'), '/usr/lib/x2go (x2goserver)']);
describe('x2go-sessiondb doctor: setgid x2gouser programs', setgidNeeds.options, () => {
  const planted = '/usr/lib/x2go/x2go-doctor-test-planted';
  let box: TestDatabase;
  before(async () => {
    setgidNeeds.check();
    box = await SQLITE.createDatabase({ database: 'x2go_doctor_setgid' });
    writeFileSync(planted, '#!/bin/sh\n');
    chownSync(planted, 0, lookupGroupId('x2gouser') ?? 0);
    chmodSync(planted, 0o2755);
  });
  after(async () => {
    rmSync(planted, { force: true });
    await box?.drop();
  });

  test('a setgid x2gouser program users can run is found; --fix drops its bit and leaves packaged ones to install', () => {
    const doctor = (...args: string[]) =>
      run(process.execPath, [join(DIST, 'x2go-sessiondb.cjs'), 'doctor', '--config', box.configDir, '--only', 'setgid', '--json', ...args]);
    const before = JSON.parse(doctor().stdout) as Report;
    const findings = before.checks[0]?.findings ?? [];
    assert.ok(
      findings.some((f) => f.subject === planted && f.fixable),
      JSON.stringify(findings),
    );
    const packaged = findings.filter((f) => !f.fixable).map((f) => [f.subject, statSync(f.subject).mode]);
    const fixed = JSON.parse(doctor('--fix').stdout) as Report;
    assert.deepEqual(fixed.fixed, [`${planted}: setgid bit removed`]);
    assert.equal(statSync(planted).mode & 0o7777, 0o755);
    for (const [path, mode] of packaged) assert.equal(statSync(path as string).mode, mode, `${path} left to x2go-sessiondb install`);
    assert.ok(!(JSON.parse(doctor().stdout) as Report).checks[0]?.findings.some((f) => f.subject === planted));
    assert.ok(existsSync(planted));
  });
});
