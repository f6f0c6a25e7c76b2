// The resident service's PostgreSQL requests in few round trips (issue 15, item 4). Nothing
// waits for an answer it does not need (src/backends/postgres/request.ts): BEGIN, SET LOCAL ROLE
// and the request's statements leave in one write, and statements are prepared once per
// connection. So a read is one write to the server before its answer (its COMMIT follows the
// answer), a request that is one store call of one statement one write with its COMMIT, and
// other writes two (their statements, then COMMIT), a quota-checked insert and a purge
// included. The writes are counted on the socket itself. This must change nothing else:
// row-level security applies to every statement, a role that is not set up runs nothing, a
// savepoint undoes only its own statements, a failed request leaves nothing, and the connection
// goes back to the pool clean.

import assert from 'node:assert/strict';
import { appendFileSync, chownSync, cpSync } from 'node:fs';
import { connect, createServer, Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadBackend } from '../src/backends/backend.js';
import { loadSettings } from '../src/config/config.js';
import type { SharedStores } from '../src/model/backend.js';
import { quotaGuard } from '../src/model/quota.js';
import type { SessionStore } from '../src/model/store.js';
import type { Caller } from '../src/model/types.js';
import { lookupUser } from '../src/system/accounts.js';
import { POSTGRES, type TestDatabase } from './support/backends.js';
import { pgPort } from './support/postgres.js';
import { scratchDir } from './support/scratch.js';

const needs = POSTGRES.needs();
const SRV = 'x2go-pipeline';
const id = (user: string, n: number) => `${user}-${n}-17000000${n}_stDxfce_dp24`;
const A = id('alice', 51);

/**
 * Writes to the suites' PostgreSQL from this process: those before `work` has its answer, and
 * all of them, until the request's connection is back in the pool.
 */
async function writesDuring(work: () => Promise<unknown>): Promise<{ beforeAnswer: number; all: number }> {
  const original = Socket.prototype.write;
  const port = pgPort();
  let writes = 0;
  Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
    if (this.remotePort === port) writes++;
    return (original as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof original;
  try {
    await work();
    const beforeAnswer = writes;
    // A read's COMMIT leaves after its answer; it has been answered within these 100 ms.
    await new Promise((r) => setTimeout(r, 100));
    return { beforeAnswer, all: writes };
  } finally {
    Socket.prototype.write = original;
  }
}

/**
 * A TCP relay to the suites' PostgreSQL whose connections can all be cut at once, or the next
 * one that carries a COMMIT cut once the server has it, before its answer comes back; or the
 * next one that carries a given statement silenced: the server's answers go no further, while
 * the connection stays open.
 */
async function cuttableRelay(
  port: number,
): Promise<{ port: number; cutAll(): void; cutAfterNextCommit(): void; silenceAfterNext(statement: string): void; close(): void }> {
  const open = new Set<Socket>();
  let commitCut = false;
  let silenceOn: string | undefined;
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        open.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    let cutOnAnswer = false;
    let silenced = false;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      if (commitCut && chunk.includes('COMMIT\0')) {
        commitCut = false;
        cutOnAnswer = true;
      }
      if (silenceOn !== undefined && chunk.includes(silenceOn)) {
        silenceOn = undefined;
        silenced = true;
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (cutOnAnswer) {
        client.destroy();
        upstream.destroy();
      } else if (!silenced) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the relay has no port');
  return {
    port: address.port,
    cutAll: () => {
      for (const s of open) s.destroy();
    },
    cutAfterNextCommit: () => {
      commitCut = true;
    },
    silenceAfterNext: (statement: string) => {
      silenceOn = statement;
    },
    close: () => {
      for (const s of open) s.destroy();
      server.close();
    },
  };
}

describe('PostgreSQL through the service: a request in few round trips', { ...needs.options, timeout: 120_000 }, () => {
  let box: TestDatabase;
  let shared: SharedStores;
  let alice: Caller;
  let bob: Caller;
  const root: Caller = { uid: 0, name: 'root' };

  before(async () => {
    needs.check();
    box = await POSTGRES.createDatabase({ database: 'x2go_pipeline', users: ['alice', 'bob'], serviceLogin: true });
    alice = { uid: lookupUser('alice')?.uid ?? -1, name: 'alice' };
    bob = { uid: lookupUser('bob')?.uid ?? -1, name: 'bob' };
    // The service's stores, in this process: its password file is the running process's own.
    chownSync(join(box.configDir, 'x2gosql', 'x2gosessiond.password'), 0, 0);
    const settings = loadSettings(box.configDir);
    shared = await (await loadBackend(settings.backend.name)).openShared(settings);
  });
  after(async () => {
    await shared?.close();
    await box?.drop();
  });

  const as = <T>(caller: Caller, work: (store: SessionStore) => Promise<T>) => shared.withStore(caller, work);
  const quota = (sessions: number, ports: number) =>
    quotaGuard('alice', { sessionsPerUser: 20, portsPerUser: 100 }, { sessions, ports }, 'x2gosql/sql');
  const count = async (where: string): Promise<number> =>
    Number((await box.query<{ n: number }>(`select count(*)::int as n from ${where}`))[0]?.n);

  test('a read is one write before its answer, a single write one with its COMMIT, other writes two', async () => {
    await as(alice, (s) => s.insertSession({ sessionId: A, display: 51, server: SRV, uname: 'alice', quota: quota(1, 0) }));
    const start = {
      cookie: 'abc',
      agentPid: 4242,
      endpoint: { client: '10.1.2.3', grPort: 30001, soundPort: 30002, fsPort: 30003, tekictrlPort: -1, tekidataPort: -1 },
    };
    const read = <T>(work: (store: SessionStore) => Promise<T>) => shared.withStore(alice, work, 'read');
    const single = <T>(work: (store: SessionStore) => Promise<T>) => shared.withStore(alice, work, 'single-write');
    let mounted = 0;
    let display = 52;
    let port = 32000;
    // [label, request, writes before the answer, writes in all]
    const operations: [string, () => Promise<unknown>, number, number][] = [
      ['getSession', () => read((s) => s.getSession(A)), 1, 2],
      ['listSessions', () => read((s) => s.listSessions({ server: SRV, uname: 'alice', kind: 'desktop', includeFinished: false })), 1, 2],
      ['displays', () => read((s) => s.displays(SRV)), 1, 2],
      // A request that is this one call: BEGIN, SET LOCAL ROLE, the statement and COMMIT at once.
      ['markStarted, a single write', () => single((s) => s.markStarted(A, 'alice', start)), 1, 1],
      ['setStatus, a single write', () => single((s) => s.setStatus(A, 'alice', 'S')), 1, 1],
      ['deletePort, a single write', () => single((s) => s.deletePort(SRV, A, 39999)), 1, 1],
      // The same in a request that may go on: COMMIT once it has returned.
      ['setStatus', () => as(alice, (s) => s.setStatus(A, 'alice', 'S')), 2, 2],
      // A transaction of the store: its SAVEPOINT goes with its statements.
      ['insertMount', () => as(alice, (s) => s.insertMount(A, `/home/alice/data${++mounted}`, '10.1.2.3')), 2, 2],
      // The quota's lock and count go with the insert they guard.
      [
        'insertSession under the quota',
        () =>
          as(alice, (s) =>
            s.insertSession({ sessionId: id('alice', ++display), display, server: SRV, uname: 'alice', quota: quota(2, 0) }),
          ),
        2,
        2,
      ],
      ['insertPort under the quota', () => as(alice, (s) => s.insertPort(SRV, A, ++port, quota(1, 0))), 2, 2],
    ];
    for (const [label, operation, beforeAnswer, all] of operations) {
      // Prepares its statements on the connection; when it has gone back to the pool, the
      // next request is given the same one.
      await writesDuring(operation);
      assert.deepEqual(await writesDuring(operation), { beforeAnswer, all }, label);
    }
    // Those sessions and ports were only for counting.
    await box.query(`delete from used_ports where port > 32000`);
    await box.query(`delete from sessions where server = '${SRV}' and display > 52`);
  });

  test('row-level security still decides every statement', async () => {
    assert.equal(await as(bob, (s) => s.getSession(A)), undefined);
    assert.equal(await as(bob, (s) => s.setStatus(A, 'alice', 'T')), 0);
    assert.equal((await as(alice, (s) => s.getSession(A)))?.status, 'S');
    await assert.rejects(as(bob, (s) => s.insertSession({ sessionId: id('alice', 70), display: 70, server: SRV, uname: 'alice' })));
    assert.equal(await count(`sessions where session_id = '${id('alice', 70)}'`), 0);
  });

  test('a request that only reads cannot write: its transaction is READ ONLY', async () => {
    await assert.rejects(
      shared.withStore(alice, (s) => s.setStatus(A, 'alice', 'T'), 'read'),
      (err: Error) => /accepts no writes/.test(String(err)) && /read-only transaction/.test(String(err.cause)),
    );
    assert.equal((await as(alice, (s) => s.getSession(A)))?.status, 'S');
  });

  test('a single write commits with its statement, refuses a statement after it, and fails whole', async () => {
    const single = <T>(work: (store: SessionStore) => Promise<T>) => shared.withStore(alice, work, 'single-write');
    // Committed: seen by another request at once.
    await single((s) => s.setStatus(A, 'alice', 'R'));
    assert.equal((await box.query<{ status: string }>(`select status from sessions where session_id = '${A}'`))[0]?.status, 'R');
    // A second statement after the one that carried COMMIT is refused unsent: it would run outside
    // the transaction, without the caller's role. The first one stands.
    await assert.rejects(
      single(async (s) => {
        await s.setStatus(A, 'alice', 'S');
        await s.setStatus(A, 'alice', 'T');
      }),
      /a statement after the request had ended/,
    );
    assert.equal((await as(alice, (s) => s.getSession(A)))?.status, 'S');
    // Its statement refused by the server (a status the schema does not allow): its COMMIT ended
    // the block as ROLLBACK, the request fails with the statement's error, nothing changed, and
    // the connection serves the next request.
    for (let i = 0; i < 10; i++) {
      await assert.rejects(single((s) => s.setStatus(A, 'alice', 'X' as 'S')));
      assert.equal((await single((s) => s.getSession(A)))?.status, 'S');
    }
    assert.equal(await count(`session_events where session_id = '${A}' and detail = 'status X'`), 0);
  });

  test('a caller without a role runs nothing, and the connection goes back clean', async () => {
    const nobody: Caller = { uid: 4242, name: 'x2godbnosuchuser' };
    // More than the pool's 8 connections: each one has had the failure and still serves.
    for (let i = 0; i < 12; i++) {
      await assert.rejects(
        as(nobody, (s) => s.insertSession({ sessionId: id('x2godbnosuchuser', 80), display: 80, server: SRV, uname: 'x2godbnosuchuser' })),
        /x2gouser_x2godbnosuchuser is not set up for the session service/,
      );
      assert.equal((await as(alice, (s) => s.getSession(A)))?.status, 'S');
    }
    assert.equal(await count('sessions where display = 80'), 0);
    // A request that sends no statement: its COMMIT ends the failed block without an error.
    await assert.rejects(
      as(nobody, async () => 42),
      /x2gouser_x2godbnosuchuser is not set up for the session service/,
    );
  });

  test('a failed request leaves nothing; a savepoint undoes only its own statements', async () => {
    // Two inserts in one request, the second refused by the unique display: neither stays.
    await assert.rejects(
      as(alice, async (s) => {
        await s.insertSession({ sessionId: id('alice', 60), display: 60, server: SRV, uname: 'alice' });
        await s.insertSession({ sessionId: id('alice', 61), display: 51, server: SRV, uname: 'alice' });
      }),
      /display 51 is already in use/,
    );
    assert.equal(await count(`sessions where session_id in ('${id('alice', 60)}', '${id('alice', 61)}')`), 0);
    // A duplicate port inside a request that goes on: its savepoint undoes it alone, and the
    // request commits the rest.
    await as(alice, async (s) => {
      await s.insertPort(SRV, A, 31000);
      await assert.rejects(s.insertPort(SRV, A, 31000), /31000/);
      await s.insertPort(SRV, A, 31001);
    });
    assert.equal(await count(`used_ports where session_id = '${A}' and port in (31000, 31001)`), 2);
    // A reservation: its transaction and each candidate's insert are nested savepoints.
    const reserved = await as(alice, (s) =>
      s.reserve({
        server: SRV,
        uname: 'alice',
        sessionId: (display) => id('alice', display),
        displayStart: 51,
        displayEnd: 60,
        busyDisplays: new Set(),
        portStart: 31000,
        portCount: 3,
        busyPorts: new Set(),
      }),
    );
    assert.deepEqual([reserved.display, reserved.ports], [52, [31002, 31003, 31004]]);
    assert.equal(await count(`sessions where server = '${SRV}'`), 2);
  });

  test('a statement a request sends after it has failed is refused, and reaches no other request', async () => {
    const B = id('bob', 71);
    await as(bob, (s) => s.insertSession({ sessionId: B, display: 71, server: SRV, uname: 'bob' }));
    let late: Promise<unknown> | undefined;
    await assert.rejects(
      as(alice, async (s) => {
        // Not awaited, as no request of ours does: it runs after the request has failed, while
        // bob's requests hold the pool's connections.
        late = new Promise((r) => setTimeout(r, 100)).then(() => s.setStatus(B, 'bob', 'F'));
        throw new Error('the request fails');
      }),
      (err: Error) => /the request fails/.test(String(err.cause)),
    );
    const bobs = Array.from({ length: 8 }, () =>
      as(bob, async (s) => {
        await s.getSession(B);
        await new Promise((r) => setTimeout(r, 300));
      }),
    );
    await assert.rejects(late as Promise<unknown>, /a statement after the request had ended/);
    await Promise.all(bobs);
    assert.equal((await as(bob, (s) => s.getSession(B)))?.status, 'R');
  });

  test('a request whose work fails with a connection error on a live connection is rolled back', async () => {
    let runs = 0;
    const started = Date.now();
    await assert.rejects(
      as(alice, async (s) => {
        runs++;
        await s.insertSession({ sessionId: id('alice', 72 + runs), display: 72 + runs, server: SRV, uname: 'alice', quota: quota(1, 0) });
        throw Object.assign(new Error('looks lost'), { code: 'EPIPE' });
      }),
      (err: Error) => /looks lost/.test(String(err.cause)),
    );
    // Run again as a lost request is, each run after the one before was rolled back: none
    // waits on its quota lock, and nothing stays.
    assert.ok(runs > 1, `runs: ${runs}`);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    assert.equal(await count(`sessions where display between 73 and 80`), 0);
    await as(alice, (s) => s.insertSession({ sessionId: id('alice', 79), display: 79, server: SRV, uname: 'alice', quota: quota(1, 0) }));
    await as(alice, (s) => s.deleteSession(id('alice', 79)));
  });

  test('stores closed: close() waits for no answered read, and a request after it is refused and connects nowhere', async () => {
    const connections = () => count(`pg_stat_activity where datname = 'x2go_pipeline' and usename = 'x2gosessiond'`);
    const before = await connections();
    const settings = loadSettings(box.configDir);
    const other = await (await loadBackend(settings.backend.name)).openShared(settings);
    // Answered before its COMMIT is: the store closes right behind it.
    await other.withStore(alice, (s) => s.getSession(A), 'read');
    const started = Date.now();
    await other.close();
    assert.ok(Date.now() - started < 1000, `close() took ${Date.now() - started} ms`);
    await assert.rejects(other.withStore(alice, (s) => s.getSession(A), 'read'));
    await assert.rejects(other.withStore(alice, (s) => s.setStatus(A, 'alice', 'S')));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await connections(), before);
  });

  test('root purges as x2godbuser, in the same few writes', async () => {
    await as(alice, (s) => s.insertSession({ sessionId: id('alice', 62), display: 62, server: SRV, uname: 'alice' }));
    await as(root, (s) => s.deleteSession(id('alice', 52)));
    // Its statements prepared on every connection of the pool, which serves requests in turn.
    for (let i = 0; i < 8; i++) await as(root, (s) => s.deleteSession(id('alice', 99)));
    // BEGIN, SET LOCAL ROLE, SAVEPOINT, the event, mounts, ports and the row in one write; COMMIT.
    assert.deepEqual(await writesDuring(() => as(root, (s) => s.deleteSession(id('alice', 62)))), { beforeAnswer: 2, all: 2 });
    assert.equal(await count(`sessions where session_id in ('${id('alice', 52)}', '${id('alice', 62)}')`), 0);
  });
  /**
   * A second service's stores, reaching the same server through a TCP relay that can cut its
   * connections without a word, as a network or a dying server does.
   */
  async function relayedStores() {
    const relay = await cuttableRelay(pgPort());
    const configDir = scratchDir('x2godb-relay-conf-');
    cpSync(box.configDir, configDir, { recursive: true });
    appendFileSync(join(configDir, 'x2gosql', 'sql'), `host=127.0.0.1\nport=${relay.port}\n`);
    const settings = loadSettings(configDir);
    return { relay, relayed: await (await loadBackend(settings.backend.name)).openShared(settings) };
  }

  test('a connection lost once COMMIT was sent: the caller hears the change may or may not have been made, and close() waits for nothing', async () => {
    const { relay, relayed } = await relayedStores();
    try {
      await relayed.withStore(alice, (s) => s.getSession(A), 'read');
      await new Promise((r) => setTimeout(r, 100)); // the read's COMMIT has passed
      relay.cutAfterNextCommit();
      await assert.rejects(
        relayed.withStore(alice, (s) => s.setStatus(A, 'alice', 'T'), 'single-write'),
        /lost during COMMIT; the change, if any, may or may not have been made/,
      );
      // Here it was: the server had the COMMIT.
      assert.equal((await as(alice, (s) => s.getSession(A)))?.status, 'T');
      await as(alice, (s) => s.setStatus(A, 'alice', 'S'));
    } finally {
      // Its lost connection keeps close() waiting for nothing.
      const closing = Date.now();
      await relayed.close();
      assert.ok(Date.now() - closing < 1000, `close() took ${Date.now() - closing} ms`);
      relay.close();
    }
  });

  test("a connection that stops carrying answers inside a transaction: PostgreSQL ends it within seconds, the user's quota lock is free again, and the request runs again", async () => {
    const { relay, relayed } = await relayedStores();
    const [stalledPort, waitingPort] = [41001, 41002];
    try {
      // The server takes alice's quota lock and answers; the answers never reach the service.
      relay.silenceAfterNext('x2go_quota_locks');
      const started = Date.now();
      const stalled = relayed.withStore(alice, (s) => s.insertPort(SRV, A, stalledPort, quota(1, 0)));
      await new Promise((r) => setTimeout(r, 300));
      // Another write of alice's, from another service: it needs her lock.
      await as(alice, (s) => s.insertPort(SRV, A, waitingPort, quota(1, 0)));
      await stalled;
      const ms = Date.now() - started;
      assert.ok(ms < 8000, `the stalled request and the one behind its lock took ${ms} ms (the request's timeout is 10 s)`);
      assert.equal(await count(`used_ports where port in (${stalledPort}, ${waitingPort})`), 2);
      // In this suite's database only: other suites' sessions are not this test's.
      assert.equal(
        await count(
          "pg_stat_activity where datname = current_database() and state = 'idle in transaction' and application_name = 'x2godb'",
        ),
        0,
      );
    } finally {
      // The relay first: its end ends a stalled session, whatever the service did.
      relay.close();
      for (const port of [stalledPort, waitingPort]) await as(alice, (s) => s.deletePort(SRV, A, port));
      await relayed.close();
    }
  });

  test('connections cut while a request is between two statements: it runs again, its abandoned run writes nothing, and the whole pool serves at once afterwards', async () => {
    const { relay, relayed } = await relayedStores();
    try {
      // Ten requests at once: every connection of the pool (8) is used.
      const round = async () => {
        const started = Date.now();
        const settled = await Promise.allSettled(Array.from({ length: 10 }, () => relayed.withStore(alice, (s) => s.getSession(A))));
        const failed = settled.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
        return { ms: Date.now() - started, failed };
      };
      assert.deepEqual((await round()).failed, []);
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      let runs = 0;
      const found = await relayed.withStore(alice, async (s) => {
        runs++;
        await s.getSession(A);
        if (runs === 1) {
          relay.cutAll();
          await sleep(100);
          // This run is abandoned (the request runs again). Meanwhile ten requests hold their
          // transactions open on the pool's connections, made again; what the abandoned run
          // sends now must not reach the server, in anyone's transaction.
          const others = Promise.allSettled(
            Array.from({ length: 10 }, () =>
              relayed.withStore(alice, async (t) => {
                await t.getSession(A);
                await sleep(400);
              }),
            ),
          );
          await sleep(150);
          await s.insertMount(A, '/abandoned', '10.9.9.9').catch(() => undefined);
          await others;
        }
        return s.getSession(A);
      });
      assert.equal(runs, 2, 'run again on a new connection');
      assert.equal(found?.sessionId, A);
      assert.equal(await count("mounts where path = '/abandoned'"), 0, 'the abandoned run wrote nothing');
      // And no connection of the pool is left unusable: every request of a round is answered.
      for (let i = 0; i < 3; i++) {
        const r = await round();
        assert.deepEqual(r.failed, []);
        assert.ok(r.ms < 3000, `a round took ${r.ms} ms`);
      }
    } finally {
      await relayed.close();
      relay.close();
    }
  });
});
