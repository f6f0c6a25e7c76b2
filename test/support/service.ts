// The resident service (x2gosessiond) for tests: started as the installed unit runs it, as its
// own account _x2gosessiond with group x2gouser (not root), on a socket of its own, with a
// sandbox's configuration, and stopped when the test process ends. `viaService` runs a whole
// test file again with every launcher it installs asking a service first, and then checks that
// the service answered every call (a launcher that fell back to Node would pass unnoticed).

import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureServiceAccount } from '../../src/install/service-account.js';
import { serviceStats } from '../../src/service/client.js';
import type { Account } from '../../src/system/accounts.js';
import { SERVICE_USER, serviceAccount } from '../../src/system/service-account.js';
import type { ServiceStats } from '../../src/service/server.js';
import { skipReasons } from './requirements.js';
import { DIST } from './sandbox.js';
import { scratchDir } from './scratch.js';

export const SERVICE_MODE_ENV = 'X2GODB_TEST_VIA_SERVICE';

export function serviceMode(): boolean {
  return process.env[SERVICE_MODE_ENV] === '1';
}

export interface RunningService {
  socket: string;
  child: ChildProcess;
  /** What the service printed on stderr (its log). */
  log(): string;
  stats(): Promise<ServiceStats>;
  /** SIGTERM, then the exit code once it has drained. */
  stop(): Promise<number | null>;
}

const running = new Set<RunningService>();
/** Every service this test process started, stopped or not. */
const started: RunningService[] = [];
process.on('exit', () => {
  for (const s of running) s.child.kill('SIGKILL');
});

/** The service's account, created as `x2go-sessiondb install` creates it. */
export function serviceUser(): Account {
  ensureServiceAccount();
  const account = serviceAccount();
  if (!account) throw new Error(`no account ${SERVICE_USER}`);
  return account;
}

/**
 * A directory for sockets outside any sandbox, the service account's (as systemd's
 * RuntimeDirectory= makes /run/x2go-sessiondb), in root's sticky /tmp.
 */
export function socketPath(name = 'sessiond.sock'): string {
  const dir = scratchDir('x2godb-svc-');
  chownSync(dir, serviceUser().uid, serviceUser().gid);
  return join(dir, name);
}

function spawnService(configDir: string, socket: string, args: string[]): { service: RunningService; exited: Promise<number | null> } {
  // No watch socket and no metrics listener unless a test asks (args given later win): a test's
  // service must not take the system's /run/x2go-sessiondb/watch.sock or port 9587.
  const quiet = ['--watch-socket', '', '--metrics-listen', ''];
  const account = serviceUser();
  const child = spawn(process.execPath, [join(DIST, 'x2gosessiond.cjs'), '--config', configDir, '--socket', socket, ...quiet, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // As the unit runs it: User=_x2gosessiond, Group=x2gouser, UMask=0007, no supplementary groups.
    uid: account.uid,
    gid: account.gid,
    cwd: '/',
  });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
  // A service left running must not keep the test process alive (it is killed on exit).
  child.unref();
  (child.stderr as unknown as { unref(): void } | null)?.unref();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const service: RunningService = {
    socket,
    child,
    log: () => log,
    stats: () => serviceStats(socket),
    stop: async () => {
      running.delete(service);
      // Waiting for its exit must keep the test process alive.
      child.ref();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  running.add(service);
  started.push(service);
  return { service, exited };
}

export async function startService(configDir: string, socket = socketPath(), args: string[] = []): Promise<RunningService> {
  const { service, exited } = spawnService(configDir, socket, args);
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  for (let waited = 0; !service.log().includes('listening on'); waited += 20) {
    if (exitCode !== undefined || waited > 15_000) throw new Error(`x2gosessiond did not come up (${String(exitCode)}): ${service.log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return service;
}

/**
 * The same for synchronous set-up code (installLauncher): waits for the socket without the
 * event loop. The service renames its socket into place only once it is ready.
 */
export function startServiceSync(configDir: string, socket: string): RunningService {
  const { service } = spawnService(configDir, socket, []);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; !existsSync(socket); waited += 20) {
    if (waited > 15_000) throw new Error(`x2gosessiond did not come up on ${socket}`);
    Atomics.wait(sleeper, 0, 0, 20);
  }
  return service;
}

/** Launcher calls per service socket, counted by test/support/launcher.ts in service mode. */
export const launcherCalls = new Map<string, { calls: number; service: RunningService }>();

/**
 * Imports a test file with service mode on, then adds the check: every launcher call its
 * tests made through test/support/launcher.ts was answered by the service (a suite that calls
 * the system's launcher checks its own service), and every service drains and exits cleanly.
 */
export async function viaService(load: () => Promise<unknown>): Promise<void> {
  process.env[SERVICE_MODE_ENV] = '1';
  await load();
  test('every launcher call was answered by the resident service, which then stops cleanly', async (t) => {
    // Its suites skipped (outside CI only): there was nothing to answer, so nothing to check.
    if (started.length === 0 && skipReasons.size > 0) {
      t.skip([...skipReasons].join('; '));
      return;
    }
    assert.ok(started.length > 0, 'no service was started');
    for (const { calls, service } of launcherCalls.values()) {
      const stats = await service.stats();
      assert.equal(stats.requests, calls, `${service.socket}: ${calls} launcher calls, ${stats.requests} answered by the service`);
      assert.equal(stats.rejected, 0, service.log());
    }
    for (const service of started) assert.equal(await service.stop(), 0, service.log());
  });
}
