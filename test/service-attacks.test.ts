// Issue 9, attacked as an ordinary user with x2gosessiond running (SQLite): a uid claimed over
// the socket (hole 2), a request too large for the service and a stopped process holding the
// write lock (hole 4), a lock held outside the service while others read and write (hole 4),
// and the service's status as a user (hole 5). Each of these passed on the code before the fix.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { lookupGroupId, type Account } from '../src/system/accounts.js';
import { encodeRequest } from '../src/service/protocol.js';
import { askWithGroup, type Answer } from './support/attacker.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { hasCompiler, isRoot, requires } from './support/requirements.js';
import { createSandbox, type Sandbox } from './support/sandbox.js';
import type { RunningService } from './support/service.js';
import { ensureUser, run, type Result } from './support/system.js';

const needs = requires(
  [isRoot, 'root'],
  [hasCompiler, '/usr/bin/cc'],
  [lookupGroupId('x2gouser') !== undefined, 'group x2gouser (x2goserver)'],
);
const SRV = 'x2go-test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sid = (user: string, n: number) => `${user}-${50 + n}-${1700000000 + n}_stDxfce_dp24`;

/** A launcher call as `user` that is killed after `timeoutMs`, with its duration. */
function timedCall(file: string, args: string[], user: Account, timeoutMs: number): Promise<Result & { ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(file, args, {
      uid: user.uid,
      gid: user.gid,
      env: { PATH: '/usr/bin:/bin' },
      cwd: '/',
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code: code ?? -1, ms: Date.now() - t0 }));
  });
}

/** Whether `pid` holds a write lock (SQLite's write lock is a POSIX lock on the -shm file). */
function holdsWriteLock(pid: number): boolean {
  return readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .some((line) => {
      const f = line.trim().split(/\s+/);
      return f[1] === 'POSIX' && f[3] === 'WRITE' && f[4] === String(pid);
    });
}

function isGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

describe('x2gosessiond attacked by a local user (issue 9)', needs.options, () => {
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
    inst = installLauncher(box, { service: true });
    service = inst.service as RunningService;
    assert.equal(inst.helper('x2goinsertsession', ['50', SRV, sid('bob', 0)], bob).stdout, 'inserted');
  });
  after(async () => {
    await service?.stop();
    box?.remove();
  });

  test('hole 2: a user holding egid x2gouser who claims uid 0 is refused and logged; nothing changes', async () => {
    const before = box.dump();
    const answers = await askWithGroup(
      alice,
      inst.socket,
      [
        { uid: 0, program: 'x2godb', args: ['listsessionsroot_all'] },
        { uid: 0, program: 'x2godb', args: ['rmsessionsroot', sid('bob', 0)] },
        { uid: bob.uid, program: 'x2gochangestatus', args: ['S', sid('bob', 0)] },
        // The same process as itself: it did reach the service, and is answered as alice.
        { uid: alice.uid, program: 'x2godb', args: ['listsessions_all'] },
      ].map(encodeRequest),
    );
    for (const [i, claimed] of [
      [0, 0],
      [1, 0],
      [2, bob.uid],
    ] as const) {
      const a = answers[i] as Answer;
      assert.equal(a.accept, 'E', JSON.stringify(a));
      assert.equal(a.exitCode, 2);
      assert.equal(a.stdout, '');
      assert.match(
        a.stderr ?? '',
        new RegExp(`^x2gosessiond: uid ${claimed} claimed by a caller whose uid is ${alice.uid} \\(pid \\d+\\)\n$`),
      );
    }
    assert.deepEqual(answers[3], { accept: 'R', exitCode: 0, stdout: '', stderr: '' });
    assert.equal(box.dump(), before);
    await sleep(100); // the service's log reaches us through a pipe
    const logged = service
      .log()
      .split('\n')
      .filter((l) => l.includes(`claimed by a caller whose uid is ${alice.uid}`));
    assert.equal(logged.length, 3, service.log());
    assert.match(logged[0] ?? '', /^<4>x2gosessiond: rejected a request: uid 0 claimed by a caller whose uid is \d+ \(pid \d+\)$/);
  });

  test('.status (the launcher called by that name) answers root only; a user gets exit 3', () => {
    const dir = mkdtempSync('/tmp/x2godb-status-');
    try {
      chmodSync(dir, 0o755);
      symlinkSync(join(inst.prefix, 'x2godb-launcher'), join(dir, '.status'));
      const asUser = run(join(dir, '.status'), [], { as: alice });
      assert.deepEqual(asUser, { code: 3, stdout: '', stderr: 'x2gosessiond: the service status is for root only\n' });
      const asRoot = run(join(dir, '.status'), []);
      assert.equal(asRoot.code, 0, asRoot.stderr);
      assert.equal((JSON.parse(asRoot.stdout) as { pid: number }).pid, service.child.pid);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('hole 4: a request over 64 KiB gets exit 2 from the launcher itself, with or without the service, and nothing runs', async () => {
    const busyPorts = Array.from({ length: 18_000 }, (_, i) => String(1024 + i)).join(',');
    assert.ok(busyPorts.length > 90_000);
    const stats = await service.stats();
    const t0 = Date.now();
    const r = inst.helper('x2goreservesession', [SRV, '_stDxfce_dp24', '60', '2', '30000', '', busyPorts], alice);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^x2godb-launcher: request of \d+ bytes, more than 65536\n$/);
    assert.ok(Date.now() - t0 < 1000);
    const after = await service.stats();
    assert.deepEqual([after.requests, after.rejected], [stats.requests, stats.rejected], 'the service never heard of it');
    // With no socket the launcher would run Node for any other call: not for this one.
    renameSync(inst.socket, `${inst.socket}.away`);
    try {
      const without = inst.helper('x2goreservesession', [SRV, '_stDxfce_dp24', '60', '2', '30000', '', busyPorts], alice);
      assert.deepEqual([without.code, without.stdout], [2, '']);
      assert.match(without.stderr, /^x2godb-launcher: request of \d+ bytes, more than 65536\n$/);
    } finally {
      renameSync(`${inst.socket}.away`, inst.socket);
    }
    assert.doesNotMatch(inst.x2godb(['listsessions_all'], alice).stdout, /_stDxfce_dp24/);
  });

  test("hole 4, the issue's scenario: alice sends 90 KB requests and stops what she can; bob's reservation succeeds within 2 s", async () => {
    const busyPorts = Array.from({ length: 18_000 }, (_, i) => String(1024 + i)).join(',');
    const stopped: number[] = [];
    try {
      for (let attempt = 0; attempt < 20 && stopped.length === 0; attempt++) {
        const child = spawn(
          join(inst.prefix, 'helpers', 'x2goreservesession'),
          [SRV, `_stDa${attempt}_dp24`, '60', '2', '30000', '', busyPorts],
          {
            uid: alice.uid,
            gid: alice.gid,
            env: {},
            cwd: '/',
            stdio: 'ignore',
          },
        );
        const pid = child.pid as number;
        // As the attacker does: watch /proc/locks and stop her process while it holds the lock.
        const until = Date.now() + 3000;
        while (!isGone(pid) && Date.now() < until) {
          if (holdsWriteLock(pid)) {
            process.kill(pid, 'SIGSTOP');
            stopped.push(pid);
            break;
          }
        }
        await new Promise((r) => (child.exitCode !== null || stopped.includes(pid) ? r(undefined) : child.on('exit', r)));
        if (!stopped.includes(pid)) assert.equal(child.exitCode, 2, 'the 90 KB request is refused');
      }
      assert.deepEqual(stopped, [], 'none of her processes ever held the write lock');
      const r = await timedCall(
        join(inst.prefix, 'helpers', 'x2goreservesession'),
        [SRV, '_stDxfce_dp24', '60', '2', '30000'],
        bob,
        10_000,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^bob-60-\d+_stDxfce_dp24 60 30000 30001\n$/);
      assert.ok(r.ms < 2000, `bob waited ${r.ms} ms`);
    } finally {
      for (const pid of stopped) process.kill(pid, 'SIGKILL');
    }
  });

  test('hole 4: while a process outside the service holds the write lock, reads are answered at once; writes wait, then succeed or fail clearly (exit 4)', async () => {
    const holder = new Database(box.dbPath);
    let held = true;
    const release = () => {
      if (held) holder.prepare('COMMIT').run();
      held = false;
    };
    try {
      holder.prepare('BEGIN IMMEDIATE').run();
      const t0 = Date.now();
      // One write that waits out the service's 10 s lock wait, one that gets the lock once freed.
      const givesUp = timedCall(join(inst.prefix, 'helpers', 'x2goinsertsession'), ['61', SRV, sid('alice', 11)], alice, 30_000);
      let succeeds: Promise<Result & { ms: number }> | undefined;
      const slowest = { read: 0, status: 0 };
      while (Date.now() - t0 < 10_600) {
        const r = await timedCall(join(inst.prefix, 'helpers', 'x2gogetdisplays'), [SRV], bob, 5_000);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /\|50\|/);
        slowest.read = Math.max(slowest.read, r.ms);
        const s0 = Date.now();
        assert.ok((await service.stats()).inFlight >= 1);
        slowest.status = Math.max(slowest.status, Date.now() - s0);
        if (!succeeds && Date.now() - t0 > 9_000) {
          succeeds = timedCall(join(inst.prefix, 'helpers', 'x2goinsertsession'), ['62', SRV, sid('alice', 12)], alice, 30_000);
        }
        await sleep(200);
      }
      assert.ok(slowest.read < 500, `a read took ${slowest.read} ms while the lock was held`);
      assert.ok(slowest.status < 200, `the service's main loop took ${slowest.status} ms to answer`);
      const gaveUp = await givesUp;
      assert.equal(gaveUp.code, 4, gaveUp.stderr);
      assert.equal(gaveUp.stderr, 'x2goinsertsession: insert session: the session database stayed busy; try again\n');
      assert.ok(gaveUp.ms >= 9_900 && gaveUp.ms < 12_000, `gave up after ${gaveUp.ms} ms`);
      const r0 = Date.now();
      release();
      const done = await (succeeds as Promise<Result & { ms: number }>);
      assert.equal(done.code, 0, done.stderr);
      assert.equal(done.stdout, 'inserted');
      assert.ok(Date.now() - r0 < 1000, `the waiting write took ${Date.now() - r0} ms after the lock was released`);
      const listed = inst.x2godb(['listsessions_all'], alice).stdout;
      assert.match(listed, new RegExp(`\\|${sid('alice', 12)}\\|62\\|`));
      assert.doesNotMatch(listed, new RegExp(sid('alice', 11)));
    } finally {
      release();
      holder.close();
    }
  });
});
