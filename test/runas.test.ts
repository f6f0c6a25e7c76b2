// x2gosessiond-runas, the root helper that runs x2goterminate-session or x2gosuspend-session as
// a session's user for the service (src/runas/main.ts), attacked: by users who reach its socket
// (directly, and with the socket opened up by mistake), and by its one legitimate client, the
// service's account, asking for other programs, other sessions, root's, or with malformed
// requests. Only a live session of an ordinary user on this server runs, as that user.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { askRunAs } from '../src/service/runas-client.js';
import type { RunAsAnswer } from '../src/runas/protocol.js';
import { lookupGroupId, type Account } from '../src/system/accounts.js';
import { hasCompiler, isRoot, requires } from './support/requirements.js';
import { installLauncher } from './support/launcher.js';
import { createSandbox, DIST, type Sandbox } from './support/sandbox.js';
import { serviceUser } from './support/service.js';
import { ensureUser } from './support/system.js';

const needs = requires(
  [isRoot, 'root'],
  [hasCompiler, '/usr/bin/cc'],
  [lookupGroupId('x2gouser') !== undefined, 'group x2gouser (x2goserver)'],
);
const HERE = hostname();
const sid = (user: string, n: number) => `${user}-${50 + n}-${1700000000 + n}_stDxfce_dp24`;

/** One request line as `user` (a process of theirs), straight to the socket: the answer, or the errno. */
function askAs(user: Account, socket: string, line: string): { answer?: RunAsAnswer; error?: string } {
  const client = `
const s = require('net').connect(process.argv[1], () => s.write(process.argv[2]));
let got = '';
s.on('data', (d) => (got += d));
s.on('error', (e) => { console.log(JSON.stringify({ error: e.code })); process.exit(0); });
s.on('close', () => console.log(got ? JSON.stringify({ answer: JSON.parse(got) }) : JSON.stringify({ error: 'closed' })));
`;
  const r = spawnSync(process.execPath, ['-e', client, socket, line], {
    uid: user.uid,
    gid: user.gid,
    cwd: '/',
    encoding: 'utf8',
    env: {},
  });
  return JSON.parse(r.stdout) as { answer?: RunAsAnswer; error?: string };
}

/** As the service asks, through src/service/runas-client.ts: connected with the service's uid. */
async function askAsService(program: string, session: string, socket: string): Promise<RunAsAnswer> {
  const account = serviceUser();
  process.setegid?.(account.gid);
  process.seteuid?.(account.uid);
  try {
    // The kernel takes the peer's credentials at connect(), which Node makes before returning.
    return await askRunAs(program as 'x2goterminate-session', session, { socket });
  } finally {
    process.seteuid?.(0);
    process.setegid?.(0);
  }
}

describe('x2gosessiond-runas: the service may end or suspend a session as its user, and nothing else (issue 16)', needs.options, () => {
  let box: Sandbox;
  let dir: string;
  let socket: string;
  let ranLog: string;
  let alice: Account;
  let bob: Account;
  let child: ReturnType<typeof spawn> | undefined;
  let log = '';

  before(async () => {
    needs.check();
    alice = ensureUser('alice');
    bob = ensureUser('bob');
    box = createSandbox();
    assert.equal(box.admin(['--createdb']).code, 0);
    // Each session stored by its user, through the setgid launcher, as on a server.
    const inst = installLauncher(box, { service: false });
    for (const [user, args] of [
      [alice, ['insertsession', '51', HERE, sid('alice', 1)]],
      [bob, ['insertsession', '52', HERE, sid('bob', 2)]],
      [alice, ['insertsession', '53', 'elsewhere', sid('alice', 3)]],
      [alice, ['insertsession', '54', HERE, sid('alice', 4)]],
      [alice, ['changestatus', 'F', sid('alice', 4)]],
      [undefined, ['insertsession', '55', HERE, sid('root', 5)]],
    ] as const) {
      const r = inst.x2godb([...args], user);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    // Stand-ins for x2goserver's programs: they say who ran them, with what.
    dir = mkdtempSync(join(tmpdir(), 'x2godb-runas-'));
    chmodSync(dir, 0o755);
    const programs = join(dir, 'bin');
    spawnSync('/bin/mkdir', ['-m', '755', programs]);
    ranLog = join(dir, 'ran', 'log');
    spawnSync('/bin/mkdir', ['-m', '777', join(dir, 'ran')]);
    writeFileSync(ranLog, '');
    chmodSync(ranLog, 0o666);
    for (const name of ['x2goterminate-session', 'x2gosuspend-session', 'x2gostartagent']) {
      writeFileSync(join(programs, name), `#!/bin/sh\necho "$(id -un):$(id -gn) ${name} $*" >> ${ranLog}\necho "ran as $(id -un)" >&2\n`, {
        mode: 0o755,
      });
    }
    socket = join(dir, 'sock', 'runas.sock');
    child = spawn(
      process.execPath,
      [join(DIST, 'x2gosessiond-runas.cjs'), '--config', box.configDir, '--socket', socket, '--programs', programs],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
    for (let waited = 0; !existsSync(socket); waited += 20) {
      if (waited > 10_000) throw new Error(`x2gosessiond-runas did not come up: ${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  after(() => {
    child?.kill('SIGTERM');
    box?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ran = () => (existsSync(ranLog) ? readFileSync(ranLog, 'utf8') : '');

  test("a user cannot reach its socket (the service account's, mode 600)", () => {
    const line = `${JSON.stringify({ program: 'x2goterminate-session', session: sid('bob', 2) })}\n`;
    assert.deepEqual(askAs(alice, socket, line), { error: 'EACCES' });
    assert.equal(ran(), '');
  });

  test('with the socket opened to everyone by mistake, the kernel still names the caller: refused', async () => {
    chmodSync(socket, 0o666);
    try {
      const line = `${JSON.stringify({ program: 'x2goterminate-session', session: sid('bob', 2) })}\n`;
      const got = askAs(alice, socket, line);
      assert.equal(got.answer?.exitCode, 3, JSON.stringify(got));
      assert.match(got.answer?.stderr ?? '', /only _x2gosessiond may ask/);
      // Root too: the service is the only client.
      assert.equal(askAs({ name: 'root', uid: 0, gid: 0, home: '/root' }, socket, line).answer?.exitCode, 3);
    } finally {
      chmodSync(socket, 0o600);
    }
    assert.equal(ran(), '');
    // Its log arrives on our event loop, which the synchronous calls above held up.
    for (let waited = 0; !log.includes('refused a connection') && waited < 2000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    assert.match(log, new RegExp(`refused a connection from uid ${alice.uid}`));
  });

  test('the service may not run any other program, nor name one by path', async () => {
    for (const program of [
      'x2gostartagent',
      '/bin/sh',
      '../bin/x2goterminate-session',
      'x2goterminate-session ',
      'x2goterminate-session/../x2gostartagent',
    ]) {
      const a = await askAsService(program, sid('alice', 1), socket);
      assert.deepEqual(
        [a.exitCode, a.stderr],
        [2, 'x2gosessiond-runas: the program must be x2goterminate-session or x2gosuspend-session'],
        program,
      );
    }
    assert.equal(ran(), '');
  });

  test("nor for a malformed id, a session not in the database, on another server, finished, or root's", async () => {
    const refused: [string, number][] = [
      [`${sid('alice', 1)};id`, 2],
      ['-u root', 2],
      ['../../etc/passwd', 2],
      [`${sid('alice', 1)}\n${sid('bob', 2)}`, 2],
      ['', 2],
      [sid('alice', 9), 3],
      [sid('alice', 3), 3],
      [sid('alice', 4), 3],
      [sid('root', 5), 3],
      [sid('nosuchuser', 6), 3],
    ];
    for (const [session, code] of refused) {
      const a = await askAsService('x2goterminate-session', session, socket);
      assert.equal(a.exitCode, code, `${JSON.stringify(session)}: ${a.stderr}`);
    }
    assert.equal(ran(), '');
  });

  test('malformed requests: not JSON, not an object, too long, never finished', () => {
    const account = serviceUser();
    for (const [line, code] of [
      ['hello\n', 2],
      ['[]\n', 2],
      ['{"program":"x2goterminate-session"}\n', 2],
      [`{"program":"x2goterminate-session","session":"${'a'.repeat(2000)}"}\n`, 2],
    ] as const) {
      assert.equal(askAs(account, socket, line).answer?.exitCode, code, line.slice(0, 60));
    }
    assert.deepEqual(askAs(account, socket, '{"program":'), { error: 'closed' });
    assert.equal(ran(), '');
  });

  test("a live session on this server: the program runs as the session's user, with the id as its one argument", async () => {
    const a = await askAsService('x2goterminate-session', sid('alice', 1), socket);
    assert.deepEqual(a, { exitCode: 0, stderr: 'ran as alice' });
    const b = await askAsService('x2gosuspend-session', sid('bob', 2), socket);
    assert.deepEqual(b, { exitCode: 0, stderr: 'ran as bob' });
    const aliceGroup = spawnSync('/usr/bin/id', ['-gn', 'alice'], { encoding: 'utf8' }).stdout.trim();
    const bobGroup = spawnSync('/usr/bin/id', ['-gn', 'bob'], { encoding: 'utf8' }).stdout.trim();
    assert.equal(
      ran(),
      `alice:${aliceGroup} x2goterminate-session ${sid('alice', 1)}\nbob:${bobGroup} x2gosuspend-session ${sid('bob', 2)}\n`,
    );
    assert.ok(alice.uid !== bob.uid);
  });
});
