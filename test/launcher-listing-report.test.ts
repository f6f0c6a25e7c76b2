// What the launcher reads for a listing (x2godb-listing.c): the agent state files of the sessions
// the program can list, and no others. x2golistsessions lists no session whose id holds XSHAD,
// x2golistshadowsessions only those (in any case: SQLite's LIKE ignores it), so each one's report
// names only its own kind; and x2golistshadowsessions does not make its report follow the request
// (X2DB3) for a directory full of desktop sessions it does not read. A stand-in service on the
// launcher's socket records the report; the launcher runs as alice.

import assert from 'node:assert/strict';
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lookupGroupId, type Account } from '../src/system/accounts.js';
import { hasCompiler, isRoot, requires } from './support/requirements.js';
import { launcherWithStandIn, type StandInLauncher } from './support/stand-in-service.js';
import { ensureUser, runAsync } from './support/system.js';

const needs = requires(
  [isRoot, 'root'],
  [hasCompiler, '/usr/bin/cc'],
  [lookupGroupId('x2gouser') !== undefined, 'group x2gouser (x2goserver)'],
);

const BASE = '/tmp/.x2go-alice';
const desktop = (i: number) => `alice-${100 + i}-17${String(i).padStart(8, '0')}_stDxfce_dp24`;
const SHARING = 'alice-60-1700000060_stS1XSHADbobXSHADPP50_dp24';
/** Desktop sharing as SQLite's LIKE finds it too; no XSHAD for x2golistsessions' query either. */
const SHARING_LOWER = 'alice-61-1700000061_stS1xshadbobxshadPP50_dp24';

/** alice's state directory: `desktops` desktop sessions running, the two sharing ones suspended. */
function stateFiles(alice: Account, desktops: number): void {
  rmSync(BASE, { recursive: true, force: true });
  mkdirSync(BASE, { mode: 0o700 });
  chownSync(BASE, alice.uid, alice.gid);
  const sessions: [string, string][] = [
    ...Array.from({ length: desktops }, (_, i): [string, string] => [desktop(i), 'RUNNING']),
    [SHARING, 'SUSPENDED'],
    [SHARING_LOWER, 'SUSPENDED'],
  ];
  for (const [id, state] of sessions) {
    const dir = join(BASE, `C-${id}`);
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, 'state'), state);
    chownSync(dir, alice.uid, alice.gid);
    chownSync(join(dir, 'state'), alice.uid, alice.gid);
  }
}

/** A report's entries, sorted, without its header. */
function entries(report: string | undefined): string[] {
  return (report ?? '').split('\n').slice(1).sort();
}

describe("a listing's agent state report", needs.options, () => {
  let alice: Account;
  let standIn: StandInLauncher;

  before(async () => {
    needs.check();
    alice = ensureUser('alice');
    // Accepts X2DB2 and X2DB3 alike; a report that follows the request is not recorded.
    standIn = await launcherWithStandIn(() => null);
  });
  after(() => {
    standIn?.remove();
    rmSync(BASE, { recursive: true, force: true });
  });

  async function report(program: string): Promise<{ versions: string[]; report: string | undefined }> {
    standIn.seen.length = 0;
    standIn.firsts.length = 0;
    const r = await runAsync(join(standIn.prefix, 'helpers', program), [], { as: alice });
    assert.equal(r.code, 0, r.stderr);
    return { versions: [...standIn.seen], report: standIn.firsts[0] };
  }

  test('x2golistsessions reads the desktop sessions, x2golistshadowsessions the shared desktops', async () => {
    stateFiles(alice, 3);
    const sessions = await report('x2golistsessions');
    assert.deepEqual(sessions.versions, ['X2DB2']);
    assert.match(sessions.report ?? '', /^X2LS1 1 complete \S+\n/);
    assert.deepEqual(entries(sessions.report), [...[0, 1, 2].map((i) => `R alice ${desktop(i)}`), `S alice ${SHARING_LOWER}`].sort());

    const shadow = await report('x2golistshadowsessions');
    assert.deepEqual(shadow.versions, ['X2DB2']);
    assert.match(shadow.report ?? '', /^X2LS1 1 complete \S+\n/);
    assert.deepEqual(entries(shadow.report), [`S alice ${SHARING}`, `S alice ${SHARING_LOWER}`].sort());
  });

  test('40 desktop sessions: x2golistsessions reads them after its request (X2DB3); x2golistshadowsessions reads none, and sends its report with the request', async () => {
    stateFiles(alice, 40);
    assert.match((await report('x2golistsessions')).report ?? '', /^X2LS1 1 follows \S+$/);
    const shadow = await report('x2golistshadowsessions');
    assert.deepEqual(shadow.versions, ['X2DB2']);
    assert.deepEqual(entries(shadow.report), [`S alice ${SHARING}`, `S alice ${SHARING_LOWER}`].sort());
  });
});
