// The launcher speaks X2DB2 (the go-ahead with the request), and X2DB3 for the listings (their
// report after it); a service started before that version (an upgrade has replaced the launcher
// but not yet restarted the service) refuses it, having run nothing, and the launcher asks again
// in X2DB1 instead of failing the call. Any other
// refusal is the caller's answer; x2go-sessiondb status asks in X2DB1 from the start. A
// stand-in service on the launcher's socket plays the older one, as root in this process; the
// launcher runs as alice.

import assert from 'node:assert/strict';
import { chownSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { serviceStats } from '../src/service/client.js';
import { lookupGroupId, type Account } from '../src/system/accounts.js';
import { hasCompiler, isRoot, requires } from './support/requirements.js';
import { launcherWithStandIn, type StandInLauncher, type V2Answer } from './support/stand-in-service.js';
import { ensureUser, runAsync } from './support/system.js';

const needs = requires(
  [isRoot, 'root'],
  [hasCompiler, '/usr/bin/cc'],
  [lookupGroupId('x2gouser') !== undefined, 'group x2gouser (x2goserver)'],
);
const SRV = 'x2go-test';

describe('the launcher and a service older than X2DB2', needs.options, () => {
  let alice: Account;
  let answer: (magic: string) => V2Answer;
  let standIn: StandInLauncher;

  before(async () => {
    needs.check();
    alice = ensureUser('alice');
    standIn = await launcherWithStandIn((magic) => answer(magic));
  });
  after(() => {
    standIn?.remove();
  });

  const call = () => runAsync(join(standIn.prefix, 'helpers', 'x2gogetdisplays'), [SRV], { as: alice });

  test('a service that answers X2DB2 is asked once', async () => {
    standIn.seen.length = 0;
    answer = () => null;
    const r = await call();
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'answered in X2DB2\n', '']);
    assert.deepEqual(standIn.seen, ['X2DB2']);
  });

  for (const [how, older] of [
    ['for its go-ahead, written with it', 'older'],
    ['as not a request (read without its go-ahead)', 'x2gosessiond: not an x2godb request\n'],
  ] as const) {
    test(`an older service refuses X2DB2 ${how}: asked again in X2DB1, answered`, async () => {
      standIn.seen.length = 0;
      answer = () => older;
      const r = await call();
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'answered in X2DB1\n', '']);
      assert.deepEqual(standIn.seen, ['X2DB2', 'X2DB1']);
    });
  }

  test('a listing with many sessions asks in X2DB3, its report to follow (a service older than that is asked again with the report in the request); with few, in X2DB2 with it', async () => {
    const listing = () => runAsync(join(standIn.prefix, 'helpers', 'x2golistsessions'), [], { as: alice });
    // A few sessions' directories (none): the report goes with the request.
    standIn.seen.length = 0;
    standIn.firsts.length = 0;
    answer = () => null;
    const few = await listing();
    assert.deepEqual([few.code, few.stdout, standIn.seen], [0, 'answered in X2DB2\n', ['X2DB2']]);
    assert.match(standIn.firsts[0] ?? '', /^X2LS1 1 complete \S+$/);

    // 40 sessions' directories: the report follows the request.
    const base = '/tmp/.x2go-alice';
    rmSync(base, { recursive: true, force: true });
    mkdirSync(base, { mode: 0o700 });
    for (let i = 0; i < 40; i++) mkdirSync(join(base, `C-alice-${100 + i}-17${String(i).padStart(8, '0')}_stDxfce_dp24`));
    for (const dir of [base, ...readdirSync(base).map((d) => join(base, d))]) chownSync(dir, alice.uid, alice.gid);
    try {
      // A service that knows X2DB2 but not X2DB3, then one older than both.
      for (const [older, versions, answered] of [
        [(magic: string) => (magic === 'X2DB3' ? 'x2gosessiond: not an x2godb request\n' : null), ['X2DB3', 'X2DB2'], 'X2DB2'],
        [() => 'x2gosessiond: not an x2godb request\n', ['X2DB3', 'X2DB2', 'X2DB1'], 'X2DB1'],
      ] as const) {
        standIn.seen.length = 0;
        standIn.firsts.length = 0;
        answer = older;
        const r = await listing();
        assert.deepEqual([r.code, r.stdout, r.stderr], [0, `answered in ${answered}\n`, '']);
        assert.deepEqual(standIn.seen, versions);
        assert.match(standIn.firsts[0] ?? '', /^X2LS1 1 follows \S+$/);
        for (const first of standIn.firsts.slice(1)) assert.match(first, /^X2LS1 1 (complete|partial) \S+/);
      }
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  test('x2go-sessiondb status asks in X2DB1, which a service older than X2DB2 answers too', async () => {
    standIn.seen.length = 0;
    answer = () => 'older';
    // The stand-in answers no counters; what matters is the version it was asked in.
    await serviceStats(standIn.socket).catch(() => undefined);
    assert.deepEqual(standIn.seen, ['X2DB1']);
  });

  test('any other rejection of X2DB2 is the answer, not asked again', async () => {
    standIn.seen.length = 0;
    const line = 'x2gosessiond: request read 4500 ms after it was sent (its launcher gives up at 5 s); not run\n';
    answer = () => line;
    const r = await call();
    assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', line]);
    assert.deepEqual(standIn.seen, ['X2DB2']);
  });
});
