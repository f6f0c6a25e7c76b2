// The resident service (x2gosessiond) and the launcher's fast path: who can reach the socket,
// what a malformed request gets, many callers and slow callers at once, SIGTERM, SIGKILL in the
// middle of a storm of writes, PostgreSQL going away and coming back, and the admin's view.
// (Every launcher-based suite also runs through the service: the *.via-service.test.ts files.)

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WRAPPER_NAME } from '../src/install/install-launcher.js';
import { unitText } from '../src/install/service-unit.js';
import { ask, exchange } from '../src/service/client.js';
import { encodeRequest, MAX_REQUEST, monotonicMs, STATUS_PROGRAM } from '../src/service/protocol.js';
import { lookupGroupId, type Account } from '../src/system/accounts.js';
import { BACKENDS, NEEDS_ROOT, NEEDS_X2GOUSER, POSTGRES, type BackendUnderTest, type TestDatabase } from './support/backends.js';
import { takeCensus } from './support/census.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { hasCompiler, isRoot, requires } from './support/requirements.js';
import { createSandbox, DIST, LOAD_TEST_QUOTA, ROOT, setQuota, type Sandbox } from './support/sandbox.js';
import { serviceUser, startService, type RunningService } from './support/service.js';
import { pgPort, testCluster } from './support/postgres.js';
import { ensureUser, run, type Result } from './support/system.js';

const needs = requires(
  [isRoot, 'root'],
  [hasCompiler, '/usr/bin/cc'],
  [lookupGroupId('x2gouser') !== undefined, 'group x2gouser (x2goserver)'],
);
const needsPg = POSTGRES.needs(NEEDS_ROOT, [hasCompiler, '/usr/bin/cc']);
const SRV = 'x2go-test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A session id of `user`'s, unique per n. */
const sid = (user: string, n: number) => `${user}-${50 + n}-${1700000000 + n}_stDxfce_dp24`;

describe('x2gosessiond on SQLite: socket, protocol, load, signals', needs.options, () => {
  let box: Sandbox;
  let inst: Installed;
  let service: RunningService;
  let alice: Account;
  let bob: Account;

  before(() => {
    needs.check();
    alice = ensureUser('alice');
    bob = ensureUser('bob');
    box = createSandbox();
    assert.equal(box.admin(['--createdb']).code, 0);
    // Load tests: alice makes over 100 sessions, more than the default per-user quota (test/quota.test.ts).
    setQuota(box.configDir, LOAD_TEST_QUOTA);
    inst = installLauncher(box, { service: true });
    service = inst.service as RunningService;
  });
  after(async () => {
    await service?.stop();
    box?.remove();
  });

  test('the socket is _x2gosessiond:x2gouser 0660 in a _x2gosessiond:x2gouser 0751 directory; a user connecting directly is refused', () => {
    const gid = lookupGroupId('x2gouser');
    // The service's account's (issue 16: it no longer runs as root), for the group only.
    const { uid } = serviceUser();
    const sock = statSync(inst.socket);
    assert.deepEqual([sock.uid, sock.gid, sock.mode & 0o7777], [uid, gid, 0o660]);
    const dir = statSync(join(inst.socket, '..'));
    assert.deepEqual([dir.uid, dir.gid, dir.mode & 0o7777], [uid, gid, 0o751]);
    const probe = `require('net').connect(${JSON.stringify(inst.socket)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => console.log(e.code))`;
    const r = run(process.execPath, ['-e', probe], { as: alice });
    assert.equal(r.stdout.trim(), 'EACCES');
  });

  test('through the launcher, a user is the uid it was started by', () => {
    assert.equal(inst.helper('x2goinsertsession', ['50', SRV, sid('alice', 0)], alice).stdout, 'inserted');
    const refused = inst.helper('x2gochangestatus', ['S', sid('alice', 0)], bob);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /is not one of bob.s sessions/);
    assert.match(inst.x2godb(['listsessions', SRV], alice).stdout, new RegExp(`\\|${sid('alice', 0)}\\|50\\|`));
    assert.equal(inst.x2godb(['listsessions', SRV], bob).stdout, '');
  });

  test('malformed, oversized and out-of-order requests are rejected with one line, exit 2, nothing written', async () => {
    const before = box.dump();
    const frame = (payload: string) => {
      const body = Buffer.from(payload);
      const head = Buffer.alloc(4);
      head.writeUInt32BE(body.length);
      return Buffer.concat([head, body]);
    };
    const insert = `insertsession\x0059\x00${SRV}\x00${sid('root', 9)}`;
    const early = (offsetMs: number) => `X2DB2\x000\x00${monotonicMs() + offsetMs}\x00x2godb\x00${insert}`;
    const go = Buffer.from('G');
    const cases: [string, Buffer, RegExp, number?][] = [
      ['wrong magic', frame(`NOPE\x000\x00x2godb\x00insertsession\x0051\x00${SRV}\x00${sid('root', 9)}`), /not an x2godb request/],
      ['uid not a number', frame(`X2DB1\x00zero\x00x2godb\x00listsessions_all`), /malformed uid/],
      ['no program', frame('X2DB1\x000'), /malformed program name/],
      ['too many fields', frame(['X2DB1', '0', 'x2godb', ...Array.from({ length: 50 }, () => 'a')].join('\0')), /more than 40 fields/],
      ['oversized', Buffer.from([0x7f, 0xff, 0xff, 0xff]), new RegExp(`more than ${MAX_REQUEST}`)],
      ['trailing bytes', Buffer.concat([frame('X2DB1\x000\x00x2godb\x00listsessions_all'), Buffer.from('G')]), /bytes after the request/],
      // X2DB2 carries its sending time and its go-ahead: a write it would make is not made.
      ['X2DB2 without a sending time', Buffer.concat([frame(`X2DB2\x000\x00x2godb\x00${insert}`), go]), /malformed sending time/],
      // Not the caller's fault: the service was too slow, exit 4 as the launcher's own timeout.
      ['X2DB2 read after its launcher gave up', Buffer.concat([frame(early(-4_500)), go]), /read \d+ ms after it was sent .*; not run/, 4],
      ['X2DB2 dated ahead', Buffer.concat([frame(early(5_000)), go]), /ahead of this host's clock; not run/],
      [
        'X2DB2 with bytes after its go-ahead',
        Buffer.concat([frame(early(0)), go, Buffer.from('G')]),
        /bytes after the request and its go-ahead/,
      ],
    ];
    for (const [what, bytes, reason, exitCode = 2] of cases) {
      const answer = await exchange(inst.socket, bytes);
      assert.equal(answer.accept, 'E', what);
      assert.equal(answer.exitCode, exitCode, what);
      assert.equal(answer.stdout, '', what);
      assert.match(answer.stderr, reason, what);
      assert.equal(answer.stderr.trim().split('\n').length, 1, what);
    }
    // A bad go-ahead byte: the command is not run.
    const wrongGo = await new Promise<string>((resolve) => {
      const s = connect(inst.socket, () =>
        s.write(encodeRequest({ uid: 0, program: 'x2godb', args: ['insertsession', '59', SRV, sid('root', 9)] })),
      );
      let got = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length === 1) s.write('X');
      });
      s.on('close', () => resolve(got.subarray(5 + 9).toString()));
    });
    assert.match(wrongGo, /expected the go-ahead byte/);
    assert.equal(box.dump(), before);
    assert.equal((await service.stats()).rejected, cases.length + 1);
  });

  test('X2DB2: the go-ahead written with the request, one exchange, the command run once; X2DB1 still answered', async () => {
    const before = (await service.stats()).requests;
    const insert = { uid: 0, program: 'x2godb', args: ['insertsession', '58', SRV, sid('root', 8)] };
    // ask() writes the request and its go-ahead at once and sends nothing after the accept.
    const answer = await ask(inst.socket, insert);
    assert.deepEqual([answer.accept, answer.exitCode, answer.stdout], ['W', 0, 'ok']);
    const again = await exchange(inst.socket, encodeRequest({ ...insert, args: ['insertsession', '57', SRV, sid('root', 7)] }));
    assert.deepEqual([again.accept, again.exitCode, again.stdout], ['W', 0, 'ok']);
    assert.equal((await service.stats()).requests, before + 2);
    for (const id of [sid('root', 8), sid('root', 7)]) assert.equal(inst.x2godb(['rmsessionsroot', id]).code, 0);
  });

  test("X2DB3: the listing's report follows the request; the sessions are listed meanwhile, and nothing changes before it has come", async () => {
    // Its own id and display: the history keeps the events of a session removed at the end.
    const id = sid('root', 12);
    assert.equal(inst.x2godb(['insertsession', '62', SRV, id]).code, 0);
    const status = () => inst.x2godb(['getstatus', id]).stdout.trim();
    const announced = (round = 1, host = SRV) => `X2LS1 ${round} follows ${host}`;
    const frame = (text: string) => {
      const body = Buffer.from(text);
      const head = Buffer.alloc(4);
      head.writeUInt32BE(body.length);
      return Buffer.concat([head, body]);
    };
    const request = (program: string, first: string) =>
      Buffer.concat([encodeRequest({ uid: 0, program, args: [first], sentAtMs: monotonicMs(), trailer: true }), Buffer.from('G')]);
    const agentSays = (state: string) => `X2LS1 1 complete ${SRV}\n${state} root ${id}`;

    /** The trailer sent 300 ms after the request, once `meanwhile` has run; the answer's stdout. */
    const lateTrailer = (trailer: string, meanwhile: () => void) =>
      new Promise<string>((resolve, reject) => {
        let received = Buffer.alloc(0);
        const s = connect(inst.socket, () => s.write(request('x2golistsessions', announced())));
        setTimeout(() => {
          meanwhile();
          s.write(frame(trailer));
        }, 300);
        s.on('data', (d: Buffer) => {
          received = Buffer.concat([received, d]);
        });
        s.on('error', reject);
        s.on('close', () => resolve(received.subarray(1 + 4 + 5).toString()));
      });

    // The command waits for its trailer, and only then changes the status.
    let statusMeanwhile: string | undefined;
    const suspended = await lateTrailer(agentSays('S'), () => {
      statusMeanwhile = status();
    });
    assert.equal(statusMeanwhile, 'R');
    assert.match(suspended, new RegExp(`^U ${id}\nF ${id}\n\0[^\n]*\\|${id}\\|62\\|${SRV}\\|S\\|`));
    assert.equal(status(), 'S');

    // A status changed while the report was on its way is not overwritten: a session finished
    // meanwhile stays finished, its line is printed as listed, and nothing is run for it.
    assert.equal(inst.x2godb(['changestatus', 'R', id]).code, 0);
    const raced = await lateTrailer(agentSays('S'), () => assert.equal(inst.x2godb(['changestatus', 'F', id]).code, 0));
    assert.match(raced, new RegExp(`^\0[^\n]*\\|${id}\\|62\\|${SRV}\\|R\\|`));
    assert.equal(status(), 'F');

    // A caller that goes away before its trailer: the sessions were listed, nothing was changed.
    assert.equal(inst.x2godb(['changestatus', 'R', id]).code, 0);
    await new Promise<void>((resolve) => {
      const s = connect(inst.socket, () => s.write(request('x2golistsessions', announced())));
      s.once('data', () => setTimeout(() => s.destroy(), 100));
      s.on('close', () => resolve());
    });
    assert.equal(status(), 'R');

    const cases: [string, Buffer, string, RegExp][] = [
      [
        'a trailer that does not match its announcement',
        request('x2golistsessions', announced(1, 'elsewhere')),
        agentSays('S'),
        /does not match its announcement/,
      ],
      [
        'a trailer after a request that held the report',
        request('x2golistsessions', agentSays('R')),
        agentSays('S'),
        /followed a request that held one/,
      ],
      ['an oversized trailer', request('x2golistshadowsessions', announced()), '', /trailer of 2147483647 bytes, more than 65536/],
    ];
    for (const [what, bytes, trailer, reason] of cases) {
      const tail = trailer === '' ? Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x41]) : frame(trailer);
      const got = await exchange(inst.socket, Buffer.concat([bytes, tail]), 10_000, true);
      assert.deepEqual([got.accept, got.exitCode, got.stdout], ['W', 2, ''], what);
      assert.match(got.stderr, reason, what);
    }
    // Only the listings take a trailer; the others are refused before anything runs.
    const refused = await exchange(inst.socket, Buffer.concat([request('x2godb', 'listsessions_all'), frame('x')]), 10_000, true);
    assert.deepEqual([refused.accept, refused.exitCode], ['E', 2]);
    assert.match(refused.stderr, /x2godb takes no trailer/);
    // A trailer that never comes fails the command after 5 s, and changes nothing.
    const waited = await exchange(inst.socket, request('x2golistsessions', announced()), 10_000, true);
    assert.deepEqual([waited.exitCode, waited.stdout], [2, '']);
    assert.match(waited.stderr, /no agent state report: the trailer did not come within 5 s/);
    assert.equal(status(), 'R');
    assert.equal(inst.x2godb(['rmsessionsroot', id]).code, 0);
  });

  test('bad arguments get the same answer through the service as from the CLI', async () => {
    for (const args of [
      ['insertsession', '-1', SRV, sid('alice', 1)],
      ['insertsession', '51', SRV, "x'; drop table sessions;--"],
      ['nosuchcommand'],
    ]) {
      const viaService = inst.x2godb(args, alice);
      const direct = box.x2godb(args, { as: alice });
      assert.deepEqual(
        [viaService.code, viaService.stdout, viaService.stderr],
        [direct.code, direct.stdout, direct.stderr],
        args.join(' '),
      );
      assert.notEqual(viaService.code, 0);
    }
  });

  test('a slow caller does not hold up the others, and is dropped after 5 s; a go-ahead after that runs nothing', async () => {
    const stalled = connect(inst.socket);
    await new Promise((r) => stalled.on('connect', r));
    stalled.write(Buffer.from([0, 0, 0, 100, 0x58])); // promises 100 bytes, sends 1
    const closed = new Promise<number>((resolve) => {
      const t0 = Date.now();
      stalled.on('close', () => resolve(Date.now() - t0));
      stalled.on('error', () => {});
      stalled.resume(); // read what the service says, so that its close is seen
    });
    // Another has its write accepted (X2DB1) and sends the go-ahead only once it is refused for
    // being late: the command must not run.
    const late = connect(inst.socket);
    await new Promise((r) => late.on('connect', r));
    late.write(encodeRequest({ uid: 0, program: 'x2godb', args: ['insertsession', '56', SRV, sid('root', 6)] }));
    const lateAnswer = new Promise<string>((resolve) => {
      let got = Buffer.alloc(0);
      late.on('data', (d: Buffer) => {
        const first = got.length < 2;
        got = Buffer.concat([got, d]);
        if (first && got.length >= 2) late.write('G');
      });
      late.on('close', () => resolve(got.subarray(0, 2).toString()));
      late.on('error', () => {});
    });
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 20 }, () => inst.helperAsync('x2gogetdisplays', [SRV], alice)));
    assert.ok(results.every((r) => r.code === 0 && r.stdout.includes('|50|')));
    assert.ok(Date.now() - t0 < 4000, `20 calls took ${Date.now() - t0} ms beside a stalled caller`);
    const stalledFor = await closed;
    assert.ok(stalledFor >= 4900 && stalledFor < 8000, `the stalled caller was dropped after ${stalledFor} ms`);
    assert.equal(await lateAnswer, 'WE', 'accepted, then refused for its late go-ahead');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!box.dump().includes(sid('root', 6)), 'the late go-ahead ran the command');
  });

  test('200 callers at once are all answered correctly', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0
          ? inst.helperAsync('x2goinsertsession', [String(100 + i), SRV, sid('alice', 100 + i)], alice)
          : inst.helperAsync(WRAPPER_NAME, ['listsessions', SRV], bob),
      ),
    );
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, `caller ${i}: ${r.stderr}`);
      if (i % 2 === 0) assert.equal(r.stdout, 'inserted');
      else assert.equal(r.stdout, '', 'bob sees none of alice sessions');
    }
    const listed = inst.helper(WRAPPER_NAME, ['listsessions', SRV], alice).stdout.trim().split('\n');
    assert.equal(listed.length, 101);
  });

  test('SIGTERM lets a request in flight finish, refuses new ones (the launcher falls back), then exits 0', async () => {
    // A request that has been accepted but not yet told to go: in flight from the service's side.
    const s = connect(inst.socket);
    const answer = new Promise<Buffer>((resolve) => {
      let got = Buffer.alloc(0);
      s.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
      s.on('close', () => resolve(got));
    });
    await new Promise((r) => s.on('connect', r));
    s.write(encodeRequest({ uid: 0, program: 'x2goinsertsession', args: ['60', SRV, sid('root', 10)] }));
    // Connections that must not hold SIGTERM up: one that never sent a request, and one whose
    // client read its answer but keeps the connection open.
    const idle = connect(inst.socket);
    const answered = connect(inst.socket);
    const idleClosed = new Promise((r) => idle.on('close', r));
    const answeredClosed = new Promise((r) => answered.on('close', r));
    answered.on('data', (d: Buffer) => d[0] === 'R'.charCodeAt(0) && answered.write('G'));
    answered.write(encodeRequest({ uid: 0, program: STATUS_PROGRAM, args: [] }));
    await sleep(200);
    service.child.kill('SIGTERM');
    await sleep(300);
    assert.equal(service.child.exitCode, null, 'still draining');
    await Promise.all([idleClosed, answeredClosed]);
    // Meanwhile a launcher finds no socket and runs the command itself.
    const fallback = inst.helper('x2goinsertsession', ['61', SRV, sid('alice', 11)], alice);
    assert.equal(fallback.stdout, 'inserted', fallback.stderr);
    s.write('G');
    const got = await answer;
    const t0 = Date.now();
    assert.equal(got.subarray(0, 1).toString(), 'W');
    assert.equal(got.subarray(1 + 9).toString(), 'inserted');
    assert.equal(await service.stop(), 0, service.log());
    assert.ok(Date.now() - t0 < 3000, `exited ${Date.now() - t0} ms after its last answer`);
    assert.match(service.log(), /SIGTERM: finishing the requests in flight[\s\S]*stopped after/);
    assert.match(inst.helper(WRAPPER_NAME, ['listsessions_all']).stdout, new RegExp(`\\|${sid('root', 10)}\\|60\\|`));
    assert.match(inst.helper(WRAPPER_NAME, ['listsessions_all'], alice).stdout, new RegExp(`\\|${sid('alice', 11)}\\|61\\|`));
  });

  test('stopped, the service costs a login nothing but time (the launcher runs Node); hung (SIGSTOP), it is a clear error, exit 4', async () => {
    assert.equal(inst.helper('x2gogetdisplays', [SRV], alice).code, 0, 'no service at all');
    service = await startService(box.configDir, inst.socket);
    process.kill(service.child.pid as number, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const r = inst.helper('x2goinsertsession', ['70', SRV, sid('alice', 20)], alice);
      const took = Date.now() - t0;
      assert.equal(r.code, 4, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^x2godb-launcher: the session service at \S+ did not accept the request within 5 s; is it hung\?\n$/);
      assert.ok(took >= 4900 && took < 7000, `gave up after ${took} ms`);
    } finally {
      process.kill(service.child.pid as number, 'SIGCONT');
    }
    // It read the request after waking, but never got the go-ahead: nothing ran, not here nor there.
    await sleep(300);
    assert.equal((await service.stats()).requests, 0);
    assert.equal(
      inst
        .helper(WRAPPER_NAME, ['listsessions', SRV], alice)
        .stdout.split('\n')
        .filter((l) => l.includes(sid('alice', 20))).length,
      0,
    );
    // A crashed service leaves its socket behind: refused, so the launcher runs Node again.
    service.child.kill('SIGKILL');
    await service.stop();
    const r = inst.helper('x2goinsertsession', ['70', SRV, sid('alice', 20)], alice);
    assert.equal(r.stdout, 'inserted', r.stderr);
    service = await startService(box.configDir, inst.socket);
  });

  test("x2go-sessiondb status shows the service's uptime, requests and errors, or that it is not running", async () => {
    const up = run(process.execPath, [
      join(DIST, 'x2go-sessiondb.cjs'),
      'status',
      '--prefix',
      inst.prefix,
      '--config',
      box.configDir,
      '--socket',
      inst.socket,
    ]);
    assert.match(
      up.stdout,
      /^service: up \(pid \d+, sqlite, uptime \d+ s, \d+ requests served, \d+ failed of which \d+ database unavailable, 0 rejected, 0 in flight, RSS [\d.]+ MB\)/m,
    );
    await service.stop();
    const down = run(process.execPath, [
      join(DIST, 'x2go-sessiondb.cjs'),
      'status',
      '--prefix',
      inst.prefix,
      '--config',
      box.configDir,
      '--socket',
      inst.socket,
    ]);
    assert.match(down.stdout, /^service: not running \(no socket at .*\); the launchers run each command themselves$/m);
    service = await startService(box.configDir, inst.socket);
  });

  test('a second service on the same socket refuses to start; a stale socket is replaced', async () => {
    await assert.rejects(startService(box.configDir, inst.socket), /another x2gosessiond answers/);
    service.child.kill('SIGKILL');
    await service.stop();
    service = await startService(box.configDir, inst.socket);
    assert.equal(inst.helper('x2gogetdisplays', [SRV], alice).code, 0);
    assert.equal((await service.stats()).requests, 1);
  });

  test('logs go to stderr with syslog priorities, at the level of x2goserver.conf', async () => {
    assert.doesNotMatch(service.log(), /<7>/, 'debug lines at loglevel=notice');
    assert.match(service.log(), /^<5>x2gosessiond: listening on /m);
    const conf = join(box.configDir, 'x2goserver.conf');
    const old = readFileSync(conf, 'utf8');
    execFileSync('/bin/sh', ['-c', `printf '[log]\\nloglevel=debug\\n' > ${conf}`]);
    try {
      inst.helper('x2gogetdisplays', [SRV], alice);
      await sleep(100);
      assert.match(service.log(), new RegExp(`<7>x2gosessiond: uid ${alice.uid} x2gogetdisplays ${SRV}: exit 0`));
    } finally {
      execFileSync('/bin/sh', ['-c', `cat > ${conf}`], { input: old });
    }
  });

  test('the systemd unit in contrib/ is what the installer writes for the default paths', () => {
    const text = unitText({
      node: '/usr/bin/node',
      prefix: '/usr/lib/x2go-sessiondb',
      configDir: '/etc/x2go',
      socket: '/run/x2go-sessiondb/sessiond.sock',
    });
    assert.equal(readFileSync(join(ROOT, 'contrib', 'x2gosessiond.service'), 'utf8'), text);
    assert.match(text, /Restart=on-failure/);
  });
});

/** Census of a database: sessions with their port counts, and ports without a session. */
interface Census {
  sessions: Map<string, number>;
  orphans: number;
}

const PG_DB = 'x2go_service_faults';

/** The faults' database: alice's reservations, through a service (PostgreSQL: its login shared). */
const faultDatabase = (backend: BackendUnderTest): Promise<TestDatabase> =>
  backend.createDatabase({ database: PG_DB, users: ['alice'], serviceLogin: true });

async function censusOf(box: TestDatabase): Promise<Census> {
  const { sessions, orphans } = await takeCensus(box);
  return { sessions: new Map(sessions.map(([session, , ports]) => [session, ports])), orphans };
}

for (const backend of BACKENDS) {
  const faultNeeds = backend.needs(NEEDS_ROOT, [hasCompiler, '/usr/bin/cc'], NEEDS_X2GOUSER);
  describe(`x2gosessiond killed with SIGKILL in a storm of writes (${backend.name})`, faultNeeds.options, () => {
    let box: TestDatabase;
    let inst: Installed;
    let alice: Account;

    before(async () => {
      faultNeeds.check();
      alice = ensureUser('alice');
      box = await faultDatabase(backend);
      // A storm of 120 reservations by alice: more than the default per-user quota (test/quota.test.ts).
      setQuota(box.configDir, LOAD_TEST_QUOTA);
      inst = installLauncher(box, { service: true });
    });
    after(async () => {
      await inst?.service?.stop();
      if (box) await box.drop();
    });

    test('every acknowledged reservation is in the database with all its ports; the others failed clearly or fell back', async () => {
      const service = inst.service as RunningService;
      const calls = Array.from({ length: 120 }, (_, i) =>
        sleep(i * 3).then(() => inst.helperAsync('x2goreservesession', [SRV, `_stDstorm${i}_dp24`, '50', '3', '30000'], alice)),
      );
      await sleep(150);
      service.child.kill('SIGKILL');
      const results: Result[] = await Promise.all(calls);
      const census = await censusOf(box);
      const acknowledged = results.filter((r) => r.code === 0);
      const failed = results.filter((r) => r.code !== 0);
      assert.ok(acknowledged.length > 0);
      for (const r of acknowledged) {
        const [session] = r.stdout.split(' ');
        assert.equal(census.sessions.get(session ?? ''), 3, `acknowledged ${r.stdout.trim()} is not in the database with its 3 ports`);
      }
      for (const r of failed)
        assert.match(
          r.stderr,
          /^x2godb-launcher: the session service stopped while changing the database; the change may or may not have been made/,
        );
      for (const [session, ports] of census.sessions) assert.equal(ports, 3, `${session}: half made`);
      assert.equal(census.orphans, 0);
      // Whatever the outcome, nobody was answered twice: every session in the database is one call's.
      assert.ok(census.sessions.size <= results.length);
      assert.ok(census.sessions.size >= acknowledged.length);
    });
  });
}

describe('x2gosessiond while PostgreSQL is stopped for 10 s', needsPg.options, () => {
  let box: TestDatabase;
  let inst: Installed;
  let alice: Account;
  // The suites' own cluster (support/postgres.ts), never the host's.
  const cluster = () => {
    const c = testCluster();
    return [c?.version ?? '', c?.name ?? ''];
  };

  before(async () => {
    needsPg.check();
    alice = ensureUser('alice');
    box = await faultDatabase(POSTGRES);
    inst = installLauncher(box, { service: true });
  });
  after(async () => {
    // Up again whatever the test did (starting a running cluster fails: that is fine).
    const [version = '', name = ''] = cluster();
    spawnSync('/usr/bin/pg_ctlcluster', [version, name, 'start'], { stdio: 'ignore' });
    await inst?.service?.stop();
    await box?.drop();
  });

  test('calls fail with one clear line while it is down, and succeed again once it is back, without a restart', async () => {
    const [version = '', name = ''] = cluster();
    assert.equal(inst.helper('x2goinsertsession', ['50', SRV, sid('alice', 0)], alice).stdout, 'inserted');
    execFileSync('/usr/bin/pg_ctlcluster', [version, name, 'stop', '-m', 'fast']);
    const down: Result[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 10_000) {
      const c0 = Date.now();
      down.push(await inst.helperAsync(WRAPPER_NAME, ['listsessions', SRV], alice));
      assert.ok(Date.now() - c0 < 6000, 'each call ends within the connect timeout');
      await sleep(500);
    }
    execFileSync('/usr/bin/pg_ctlcluster', [version, name, 'start']);
    for (const r of down) {
      assert.notEqual(r.code, 0);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`^x2godb: .*localhost:${pgPort()}.*\\n$`));
    }
    const back = inst.helper(WRAPPER_NAME, ['listsessions', SRV], alice);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, new RegExp(`\\|${sid('alice', 0)}\\|50\\|`));
    const stats = await (inst.service as RunningService).stats();
    assert.ok(stats.unavailable >= down.length, `${stats.unavailable} unavailable of ${down.length}`);
    assert.equal(inst.service?.child.exitCode, null, 'the service never restarted');
  });
});
