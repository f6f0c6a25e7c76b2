// x2go-sessiondb watch (issue 13), on both backends: a user sees each change of their own
// sessions within 1 s of the helper call that made it, and never another user's; root sees
// every user's; a user who asks for another user's sessions is refused (exit 3). On PostgreSQL
// the change is made through one service (in a UTS namespace of its own, host name node-b) and
// watched through another (this host): the event crosses the farm by LISTEN/NOTIFY.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Account } from '../src/system/accounts.js';
import { BACKENDS, NEEDS_ROOT, NEEDS_X2GOUSER, type TestDatabase } from './support/backends.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { startWatchedService, startWatcher, type WatchedService, type Watcher } from './support/observe.js';
import { hasCompiler } from './support/requirements.js';
import { DIST } from './support/sandbox.js';
import { serviceUser, socketPath, type RunningService } from './support/service.js';
import { ensureUser, run } from './support/system.js';

const SRV = 'x2go-watch';
const sid = (user: string, n: number) => `${user}-${70 + n}-${1700000200 + n}_stDxfce_dp24`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** x2gosessiond in a UTS namespace of its own, named `host`: another node of the farm. */
async function startNode(configDir: string, socket: string, host: string): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(
    'unshare',
    [
      '--uts',
      'sh',
      '-c',
      // The host name is set as root in the namespace; the service then runs as its account, as the unit runs it.
      `hostname ${host} && exec setpriv --reuid=${serviceUser().uid} --regid=${serviceUser().gid} --clear-groups "$0" "$@"`,
      process.execPath,
      join(DIST, 'x2gosessiond.cjs'),
      '--config',
      configDir,
      '--socket',
      socket,
      '--watch-socket',
      '',
      '--metrics-listen',
      '',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
  for (let waited = 0; !log.includes('listening on'); waited += 20) {
    if (child.exitCode !== null || waited > 15_000) throw new Error(`node ${host} did not come up: ${log}`);
    await sleep(20);
  }
  return { child, log: () => log };
}

for (const backend of BACKENDS) {
  const needs = backend.needs(NEEDS_ROOT, NEEDS_X2GOUSER, [hasCompiler, '/usr/bin/cc']);
  const farm = backend.kind === 'postgres';
  describe(`watch on ${backend.name}${farm ? ', across two nodes' : ''}`, needs.options, () => {
    let box: TestDatabase;
    let inst: Installed;
    let watched: WatchedService;
    let writer: { child: ChildProcess; log: () => string } | RunningService;
    let alice: Account;
    let bob: Account;
    const watchers: Watcher[] = [];
    const watcher = (user: Account | undefined, args: string[] = []) => {
      const w = startWatcher(watched.watchSocket, user, args);
      watchers.push(w);
      return w;
    };

    before(async () => {
      needs.check();
      alice = ensureUser('alice');
      bob = ensureUser('bob');
      box = await backend.createDatabase({ database: 'x2go_test_watch', users: ['alice', 'bob'], serviceLogin: true });
      inst = installLauncher(box, { service: false });
      if (farm) {
        // The helpers' node (node-b) answers on the launcher's socket; this node only watches.
        writer = await startNode(box.configDir, inst.socket, 'node-b');
        watched = await startWatchedService(box.configDir, socketPath());
      } else {
        watched = await startWatchedService(box.configDir, inst.socket);
        writer = watched.service;
      }
    });
    after(async () => {
      for (const w of watchers) await w.stop();
      await watched?.service.stop();
      if (writer && 'kill' in writer.child && writer !== watched?.service) writer.child.kill('SIGTERM');
      await box?.drop();
    });

    test('a user sees their own change within 1 s, never another user’s; root sees both', async () => {
      const a = watcher(alice);
      const b = watcher(bob);
      const root = watcher(undefined);
      await Promise.all([a.ready, b.ready, root.ready]);

      const r = inst.helper('x2goinsertsession', ['70', SRV, sid('alice', 0)], alice);
      assert.equal(r.code, 0, r.stderr);
      const called = Date.now();
      const line = await a.waitFor(new RegExp(sid('alice', 0)), 1000);
      const latency = Date.now() - called;
      const event = JSON.parse(line) as { event: string; uname: string; server: string; node: string | null };
      assert.deepEqual([event.event, event.uname, event.server], ['created', 'alice', SRV]);
      if (farm) assert.equal(event.node, 'node-b', 'written by the other node');
      assert.ok(latency <= 1000, `${latency} ms`);

      const rb = inst.helper('x2goinsertsession', ['71', SRV, sid('bob', 1)], bob);
      assert.equal(rb.code, 0, rb.stderr);
      await b.waitFor(new RegExp(sid('bob', 1)), 1000);
      await root.waitFor(new RegExp(sid('alice', 0)), 1000);
      await root.waitFor(new RegExp(sid('bob', 1)), 1000);

      // Both changes are known to have been delivered; neither user got the other's.
      await sleep(300);
      assert.ok(!a.lines.some((l) => l.includes('bob')), `alice saw: ${a.lines.join('\n')}`);
      assert.ok(!b.lines.some((l) => l.includes('alice')), `bob saw: ${b.lines.join('\n')}`);
      assert.equal(a.lines.length, 1);
      assert.equal(b.lines.length, 1);
    });

    test('filters: --server of another server gets nothing; the text format is one line per change', async () => {
      const other = watcher(alice, ['--server', 'elsewhere']);
      const text = startWatcher(watched.watchSocket, alice, [], false);
      watchers.push(text);
      await Promise.all([other.ready, text.ready]);
      assert.equal(inst.helper('x2gochangestatus', ['S', sid('alice', 0)], alice).code, 0);
      const line = await text.waitFor(/suspended/, 1000);
      assert.match(line, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z suspended alice ${sid('alice', 0)} server=${SRV}( node=\\S+)?$`));
      await sleep(300);
      assert.deepEqual(other.lines, []);
    });

    test('a user who asks for another user’s sessions is refused with exit 3; bad options exit 2', () => {
      const refused = run(
        process.execPath,
        [join(DIST, 'x2go-sessiondb.cjs'), 'watch', '--user', 'alice', '--socket', watched.watchSocket],
        { as: bob },
      );
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, /bob may watch only their own sessions/);
      assert.equal(refused.stdout, '');
      const bad = run(process.execPath, [join(DIST, 'x2go-sessiondb.cjs'), 'watch', '--bogus'], { as: bob });
      assert.equal(bad.code, 2);
      const badServer = run(
        process.execPath,
        [join(DIST, 'x2go-sessiondb.cjs'), 'watch', '--server', 'a;b', '--socket', watched.watchSocket],
        { as: bob },
      );
      assert.equal(badServer.code, 2, badServer.stderr);
    });

    test('the watch socket is 0666 and names its caller by the kernel, not by the request', async () => {
      const { statSync } = await import('node:fs');
      assert.equal(statSync(watched.watchSocket).mode & 0o777, 0o666);
      // A raw client claiming to be root gets no field for it: an unknown field is refused.
      const probe = `const s=require('net').connect(${JSON.stringify(watched.watchSocket)});s.on('connect',()=>s.write(JSON.stringify({uid:0})+'\\n'));s.on('data',d=>process.stdout.write(d));`;
      const r = run(process.execPath, ['-e', probe], { as: bob });
      assert.match(r.stdout, /unknown field/);
    });
  });
}
