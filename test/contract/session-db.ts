// The behaviour every backend owes the model, checked through SessionDb (the operations of
// X2Go::Server::DB) over a fresh store per test. Callers are plain values here; the suites that
// spawn real users live beside it (isolation-sqlite.test.ts, isolation-postgres.test.ts).

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { SessionDbError, type ErrorCode } from '../../src/model/errors.js';
import { SessionDb } from '../../src/model/session-db.js';
import type { SessionStore } from '../../src/model/store.js';
import type { Caller, SessionEndpoint } from '../../src/model/types.js';

/** A fresh, empty database for one test, and a store on it as each caller would open it. */
export interface StoreFixture {
  storeFor(caller: Caller): Promise<SessionStore>;
  cleanup(): Promise<void>;
}

const alice: Caller = { uid: 1001, name: 'alice' };
const bob: Caller = { uid: 1002, name: 'bob' };
const root: Caller = { uid: 0, name: 'root' };
const users = new Set(['alice', 'bob']);

const A1 = 'alice-51-1700000001_stDxfce_dp24';
const A2 = 'alice-52-1700000002_stDxfce_dp24';
const B1 = 'bob-61-1700000003_stDxfce_dp24';
const SHARE = 'bob-71-1700000004_stS1XSHADaliceXSHADPP51_dp24';
const SERVER = 'x2go-01';
const COOKIE = '378b0cdbb51fe1b8147f43a2bccb514d';

const endpoint = (first: number, client = '10.0.0.1'): SessionEndpoint => ({
  client,
  grPort: first,
  soundPort: first + 1,
  fsPort: first + 2,
  tekictrlPort: -1,
  tekidataPort: -1,
});

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SessionDbError, `not a SessionDbError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

export function sessionDbContract(backend: string, open: () => Promise<StoreFixture>): void {
  describe(`session database contract (${backend})`, () => {
    let fixture: StoreFixture;
    let stores: Map<Caller, SessionStore>;
    const as = (caller: Caller) => {
      const store = stores.get(caller);
      if (!store) throw new Error(`no store for ${caller.name}`);
      return new SessionDb(store, caller, (n) => users.has(n));
    };

    beforeEach(async () => {
      fixture = await open();
      stores = new Map();
      for (const caller of [alice, bob, root]) stores.set(caller, await fixture.storeFor(caller));
    });
    afterEach(async () => {
      for (const store of new Set(stores.values())) await store.close();
      await fixture.cleanup();
    });

    async function start(caller: Caller, sid: string, display: number, firstPort: number): Promise<void> {
      await as(caller).insertsession(display, SERVER, sid);
      for (let p = firstPort; p < firstPort + 3; p++) await as(caller).insertport(SERVER, sid, p);
      await as(caller).createsession(sid, COOKIE, 4000 + display, endpoint(firstPort));
    }

    test('a started session is listed for its owner, with the reference fields', async () => {
      await start(alice, A1, 51, 30001);
      const [row, ...more] = await as(alice).listsessions(SERVER);
      assert.equal(more.length, 0);
      assert.ok(row);
      assert.deepEqual(
        { ...row, initTime: undefined, lastTime: undefined, ageSeconds: undefined },
        {
          agentPid: 4051,
          sessionId: A1,
          display: 51,
          server: SERVER,
          status: 'R',
          initTime: undefined,
          cookie: COOKIE,
          client: '10.0.0.1',
          grPort: 30001,
          soundPort: 30002,
          lastTime: undefined,
          uname: 'alice',
          ageSeconds: undefined,
          fsPort: 30003,
          tekictrlPort: -1,
          tekidataPort: -1,
        },
      );
      assert.match(row.initTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      assert.match(row.lastTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      assert.ok(row.ageSeconds !== null && row.ageSeconds >= 0 && row.ageSeconds < 60);
      assert.deepEqual(await as(alice).listsessions('other-server'), []);
      assert.equal((await as(alice).listsessions_all()).length, 1);
    });

    test('users list only their own sessions, never finished ones or desktop-sharing ones', async () => {
      await start(alice, A1, 51, 30001);
      await start(alice, A2, 52, 30011);
      await start(bob, B1, 61, 30021);
      await as(alice).changestatus('F', A2);
      assert.deepEqual(
        (await as(alice).listsessions_all()).map((r) => r.sessionId),
        [A1],
      );
      assert.deepEqual(
        (await as(bob).listsessions(SERVER)).map((r) => r.sessionId),
        [B1],
      );
    });

    test('listings are ordered by status, descending (S before R before F), as the reference', async () => {
      await start(alice, A1, 51, 30001);
      await start(alice, A2, 52, 30011);
      await as(alice).changestatus('S', A2);
      assert.deepEqual(
        (await as(alice).listsessions(SERVER)).map((r) => r.status),
        ['S', 'R'],
      );
      await as(alice).changestatus('F', A1);
      assert.deepEqual(
        (await as(root).listsessionsroot_all()).rows.map((r) => r.status),
        ['S', 'F'],
      );
    });

    test('display numbers and session ids are unique; a clash is a conflict and writes nothing', async () => {
      await as(alice).insertsession(51, SERVER, A1);
      await rejectsWith(as(bob).insertsession(51, SERVER, B1), 'conflict', /display 51 is already in use/);
      await rejectsWith(as(alice).insertsession(52, SERVER, A1), 'conflict', /already exists/);
      assert.deepEqual(
        (await as(root).listsessionsroot_all()).rows.map((r) => r.sessionId),
        [A1],
      );
    });

    test("no one inserts or changes a session under someone else's name", async () => {
      await start(bob, B1, 61, 30021);
      await rejectsWith(as(alice).insertsession(52, SERVER, B1.replace('61', '62')), 'invalid');
      await rejectsWith(as(alice).changestatus('F', B1), 'invalid');
      await rejectsWith(as(alice).resume(B1, endpoint(40000)), 'invalid');
      await rejectsWith(as(alice).createsession(B1, COOKIE, 1, endpoint(40000)), 'invalid');
      await rejectsWith(as(alice).insertport(SERVER, B1, 40000), 'invalid');
      await rejectsWith(as(alice).rmport(SERVER, B1, 30021), 'invalid');
      await rejectsWith(as(alice).getstatus(B1), 'invalid');
      await rejectsWith(as(alice).getagent(B1), 'invalid');
      await rejectsWith(as(alice).getdisplay(B1), 'invalid');
      await rejectsWith(as(alice).insertmount(B1, '/tmp/x', '10.0.0.1'), 'invalid');
      await rejectsWith(as(alice).getmounts(B1), 'invalid');
      await rejectsWith(as(alice).deletemount(B1, '/tmp/x'), 'invalid');
      const [row] = await as(bob).listsessions(SERVER);
      assert.equal(row?.status, 'R');
      assert.deepEqual((await as(alice).getports(SERVER)).sort(), [30021, 30022, 30023]);
    });

    test('createsession and resume change only an existing session of the caller', async () => {
      await rejectsWith(as(alice).createsession(A1, COOKIE, 1234, endpoint(30001)), 'not-found');
      await rejectsWith(as(alice).resume(A1, endpoint(30001)), 'not-found');
      await rejectsWith(as(alice).changestatus('S', A1), 'not-found');
    });

    test('suspend, resume from another client, terminate; getstatus, getagent, getdisplay', async () => {
      await start(alice, A1, 51, 30001);
      await as(alice).changestatus('S', A1);
      assert.equal(await as(alice).getstatus(A1), 'S');
      await as(alice).resume(A1, { ...endpoint(30101, '2001:db8::7'), tekictrlPort: 30104, tekidataPort: 30105 });
      const [row] = await as(alice).listsessions(SERVER);
      assert.equal(row?.status, 'R');
      assert.equal(row?.client, '2001:db8::7');
      assert.deepEqual(
        [row?.grPort, row?.soundPort, row?.fsPort, row?.tekictrlPort, row?.tekidataPort],
        [30101, 30102, 30103, 30104, 30105],
      );
      assert.equal(await as(alice).getagent(A1), 4051);
      assert.equal(await as(alice).getdisplay(A1), 51);
      await as(alice).changestatus('T', A1);
      await as(alice).changestatus('F', A1);
      assert.equal(await as(alice).getstatus(A1), 'F');
      assert.equal(await as(alice).getstatus('alice-59-1700000009_stDxfce_dp24'), undefined);
    });

    test('desktop sharing: alice creates the session for bob, bob lists it, alice manages it', async () => {
      await start(alice, A1, 51, 30001);
      await as(alice).insertshadowsession(71, SERVER, SHARE, 'bob');
      await as(alice).insertport(SERVER, SHARE, 30201);
      await as(alice).createshadowsession(SHARE, COOKIE, 4071, endpoint(30201), 'bob');
      const shadows = await as(bob).listshadowsessions(SERVER);
      assert.deepEqual(
        shadows.map((r) => [r.sessionId, r.uname, r.status, r.tekictrlPort]),
        [[SHARE, 'bob', 'R', -1]],
      );
      assert.deepEqual((await as(bob).listshadowsessions_all()).length, 1);
      assert.deepEqual(await as(bob).listsessions(SERVER), [], 'sharing sessions are not desktop sessions');
      assert.deepEqual(await as(alice).listshadowsessions(SERVER), [], "stored in the viewer's name");
      await as(alice).changestatus('S', SHARE);
      assert.equal(await as(alice).getstatus(SHARE), 'S');
      // bob did not start it and does not own the shared desktop.
      await rejectsWith(as(bob).changestatus('F', SHARE), 'invalid');
    });

    test("desktop sharing cannot be used to write rows in anyone else's name", async () => {
      await rejectsWith(as(alice).insertshadowsession(71, SERVER, SHARE, 'carol'), 'invalid');
      await rejectsWith(
        as(alice).insertshadowsession(72, SERVER, 'carol-72-1700000005_stS1XSHADaliceXSHADPP51_dp24', 'carol'),
        'invalid',
        /does not exist/,
      );
      await rejectsWith(as(alice).insertshadowsession(73, SERVER, 'bob-73-1700000006_stS1XSHADcarolXSHADPP51_dp24', 'bob'), 'invalid');
      await rejectsWith(as(alice).insertshadowsession(74, SERVER, 'bob-74-1700000007_stDxfce_dp24', 'bob'), 'invalid');
      // Not root either: a row in root's name under alice's id is what root's scripts must never see.
      await rejectsWith(as(root).insertsession(75, SERVER, A1), 'invalid', /not named after root/);
      await rejectsWith(as(root).insertshadowsession(76, SERVER, A2, 'bob'), 'invalid', /not named after bob/);
      assert.deepEqual((await as(root).listsessionsroot_all()).rows, []);
    });

    test('quotas: every row the user created counts, finished or not; a shared desktop counts against its owner, not the viewer', async () => {
      const limited = (caller: Caller) => {
        const store = stores.get(caller);
        if (!store) throw new Error(`no store for ${caller.name}`);
        const quota = { limits: { sessionsPerUser: 2, portsPerUser: 3 }, file: '/etc/x2go/x2gosql/sql' };
        return new SessionDb(store, caller, (n) => users.has(n), { quota });
      };
      await limited(alice).insertsession(51, SERVER, A1);
      await limited(alice).changestatus('F', A1);
      await limited(alice).insertshadowsession(71, SERVER, SHARE, 'bob');
      await rejectsWith(
        limited(alice).insertsession(52, SERVER, A2),
        'conflict',
        /^alice holds 2 sessions, and 2 is the limit per user; .*sessions_per_user= in \[quota\] of \/etc\/x2go\/x2gosql\/sql$/,
      );
      await rejectsWith(
        limited(alice).reservesession({
          server: SERVER,
          suffix: '_stDxfce_dp24',
          displayStart: 60,
          portCount: 1,
          portStart: 30100,
          busyDisplays: new Set(),
          busyPorts: new Set(),
        }),
        'conflict',
        /alice holds 2 sessions/,
      );
      // Bob, in whose name the shared desktop is stored, still has both of his.
      await limited(bob).insertsession(61, SERVER, B1);
      await limited(bob).insertsession(62, SERVER, 'bob-62-1700000062_stDxfce_dp24');
      for (const port of [30001, 30002]) await limited(alice).insertport(SERVER, A1, port);
      await limited(alice).insertport(SERVER, SHARE, 30003);
      await rejectsWith(
        limited(alice).insertport(SERVER, A1, 30004),
        'conflict',
        /alice holds 3 ports, and 3 is the limit per user; .*ports_per_user=/,
      );
      // Root is not limited.
      await limited(root).insertsession(90, SERVER, 'root-90-1700000090_stDxfce_dp24');
      await limited(root).insertsession(91, SERVER, 'root-91-1700000091_stDxfce_dp24');
      await limited(root).insertsession(92, SERVER, 'root-92-1700000092_stDxfce_dp24');
      assert.equal((await as(root).listsessionsroot_all()).rows.length, 7);
    });

    test('ports: only for an existing session, each port once, a bounded number per session', async () => {
      await rejectsWith(as(alice).insertport(SERVER, A1, 30001), 'not-found');
      await as(alice).insertsession(51, SERVER, A1);
      await as(alice).insertport(SERVER, A1, 30001);
      await rejectsWith(as(alice).insertport(SERVER, A1, 30001), 'conflict', /port 30001 is already in use/);
      for (let p = 30002; p <= 30016; p++) await as(alice).insertport(SERVER, A1, p);
      await rejectsWith(as(alice).insertport(SERVER, A1, 30017), 'conflict', /16 ports/);
      await as(alice).rmport(SERVER, A1, 30016);
      await as(alice).insertport(SERVER, A1, 30017);
      assert.equal((await as(bob).getports(SERVER)).length, 16);
    });

    test('displays and ports in use, and servers with their session counts', async () => {
      await start(alice, A1, 51, 30001);
      await start(bob, B1, 61, 30021);
      await as(bob).changestatus('F', B1);
      assert.deepEqual((await as(bob).getdisplays(SERVER)).sort(), [51, 61]);
      assert.deepEqual((await as(bob).getports(SERVER)).sort(), [30001, 30002, 30003, 30021, 30022, 30023]);
      assert.deepEqual(await as(bob).getservers(), [{ server: SERVER, sessions: 1 }]);
    });

    test("mounts: recorded once per client path, listed and removed by the session's owner", async () => {
      await rejectsWith(as(alice).insertmount(A1, '/tmp/.x2go-alice/media/disk/_home', '10.0.0.1'), 'not-found');
      await start(alice, A1, 51, 30001);
      assert.equal(await as(alice).insertmount(A1, '/tmp/.x2go-alice/media/disk/_home', '10.0.0.1'), true);
      assert.equal(await as(alice).insertmount(A1, '/tmp/.x2go-alice/media/disk/_home', '10.0.0.1'), false);
      assert.equal(await as(alice).insertmount(A1, '/tmp/.x2go-alice/media/disk/_data', '10.0.0.1'), true);
      // The store reports the duplicate as a conflict; "not an error" is the model's policy.
      const store = stores.get(alice);
      assert.ok(store);
      await rejectsWith(store.insertMount(A1, '/tmp/.x2go-alice/media/disk/_data', '10.0.0.1'), 'conflict', /already mounted|mount/);
      assert.deepEqual((await as(alice).getmounts(A1)).map((m) => `${m.client}|${m.path}`).sort(), [
        '10.0.0.1|/tmp/.x2go-alice/media/disk/_data',
        '10.0.0.1|/tmp/.x2go-alice/media/disk/_home',
      ]);
      await as(alice).deletemount(A1, '/tmp/.x2go-alice/media/disk/_home');
      assert.equal((await as(alice).getmounts(A1)).length, 1);
    });

    test('root lists everything and purges a session with its mounts and ports in one step', async () => {
      await start(alice, A1, 51, 30001);
      await start(bob, B1, 61, 30021);
      await as(alice).insertmount(A1, '/tmp/.x2go-alice/media/disk/_home', '10.0.0.1');
      await as(alice).changestatus('F', A1);
      assert.deepEqual((await as(root).listsessionsroot(SERVER)).rows.map((r) => r.sessionId).sort(), [A1, B1]);
      await as(root).rmsessionsroot(A1);
      assert.deepEqual(
        (await as(root).listsessionsroot_all()).rows.map((r) => r.sessionId),
        [B1],
      );
      assert.deepEqual((await as(root).getports(SERVER)).sort(), [30021, 30022, 30023]);
      assert.deepEqual(await as(root).getmounts(A1), []);
      await as(root).deletemounts(B1);
    });

    test('reservation: the lowest free display and ports, skipping used and busy ones, in one step', async () => {
      await start(bob, B1, 61, 30021);
      const reserve = (busyDisplays: number[] = [], busyPorts: number[] = []) =>
        as(alice).reservesession({
          server: SERVER,
          suffix: '_stDxfce_dp24',
          displayStart: 60,
          portCount: 3,
          portStart: 30020,
          busyDisplays: new Set(busyDisplays),
          busyPorts: new Set(busyPorts),
        });
      const first = await reserve([60], [30020]);
      assert.equal(first.display, 62, "skips 60 (busy on the host) and 61 (bob's)");
      assert.deepEqual(first.ports, [30024, 30025, 30026], "skips 30020 (busy) and bob's 30021-30023");
      assert.match(first.sessionId, /^alice-62-\d{10}_stDxfce_dp24$/);
      const second = await reserve();
      assert.equal(second.display, 60);
      assert.deepEqual(second.ports, [30020, 30027, 30028]);
      const mine = await as(alice).listsessions(SERVER);
      assert.deepEqual(mine.map((r) => [r.sessionId, r.uname, r.display]).sort(), [
        [second.sessionId, 'alice', 60],
        [first.sessionId, 'alice', 62],
      ]);
      assert.deepEqual((await as(bob).getports(SERVER)).sort(), [30020, 30021, 30022, 30023, 30024, 30025, 30026, 30027, 30028]);
    });

    test('reservation: a range used up is a conflict and writes nothing; a bad suffix is refused', async () => {
      const busy = new Set(Array.from({ length: 9999 }, (_, i) => i + 1));
      await rejectsWith(
        as(alice).reservesession({
          server: SERVER,
          suffix: '_stDxfce_dp24',
          displayStart: 50,
          portCount: 3,
          portStart: 30000,
          busyDisplays: busy,
          busyPorts: new Set(),
        }),
        'conflict',
        /no free display/,
      );
      await rejectsWith(
        as(alice).reservesession({
          server: SERVER,
          suffix: '_stDxfce_dp24',
          displayStart: 50,
          portCount: 3,
          portStart: 65534,
          busyDisplays: new Set(),
          busyPorts: new Set(),
        }),
        'conflict',
        /no free port/,
      );
      await rejectsWith(
        as(alice).reservesession({
          server: SERVER,
          suffix: '_stS1XSHADbobXSHADPP51_dp24',
          displayStart: 50,
          portCount: 3,
          portStart: 30000,
          busyDisplays: new Set(),
          busyPorts: new Set(),
        }),
        'invalid',
      );
      assert.deepEqual((await as(root).listsessionsroot_all()).rows, []);
      assert.deepEqual(await as(root).getports(SERVER), []);
    });

    test('the root-only operations refuse other users', async () => {
      await start(alice, A1, 51, 30001);
      await rejectsWith(as(alice).listsessionsroot(SERVER), 'denied', /root only/);
      await rejectsWith(as(alice).listsessionsroot_all(), 'denied');
      await rejectsWith(as(alice).rmsessionsroot(A1), 'denied');
      await rejectsWith(as(alice).deletemounts(A1), 'denied');
      assert.equal((await as(alice).listsessions_all()).length, 1);
    });
  });
}
