// Issue 10, item 3: without x2gosessiond, every helper call is its own process that opens the
// SQLite file through the setgid launcher. SQLite creates the -wal and -shm files with the
// caller's umask (022: no group write) and fixes their mode only afterwards; a second caller
// that opens them in between got "no write access to the session database". Here 4 users x 2
// callers, each with umask 022, make 1,200 calls each (reads and writes alternating) without the
// service: not one may fail.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Account } from '../src/system/accounts.js';
import { lookupGroupId } from '../src/system/accounts.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { hasCompiler, isRoot, requires } from './support/requirements.js';
import { createSandbox, type Sandbox } from './support/sandbox.js';
import { ensureUser, runAsync } from './support/system.js';

const needs = requires(
  [isRoot, 'root'],
  [hasCompiler, '/usr/bin/cc'],
  [lookupGroupId('x2gouser') !== undefined, 'group x2gouser (x2goserver)'],
);

const USERS = ['alice', 'bob', 'carol', 'dave'];
const CALLERS_PER_USER = 2;
const CALLS = Number(process.env.X2GODB_WAL_CALLS ?? 1200);
const SERVER = 'x2go-test';

// One caller: a shell loop (cheap next to the helper it runs), umask 022 as a login shell has
// it, alternating a write (x2gochangestatus) and a read (x2gogetstatus) on the user's session.
// Every failed call prints one FAIL line with its exit code and message.
const LOOP = `umask 022
i=0
while [ "$i" -lt "$CALLS" ]; do
  if [ $((i % 2)) -eq 0 ]; then out=$("$HELPERS/x2gochangestatus" S "$SID" 2>&1); else out=$("$HELPERS/x2gogetstatus" "$SID" 2>&1); fi
  code=$?
  [ "$code" -eq 0 ] || echo "FAIL $code $out"
  i=$((i + 1))
done`;

describe('no WAL race without the service (umask 022, SQLite)', needs.options, () => {
  let box: Sandbox;
  let inst: Installed;
  let accounts: Account[];

  before(() => {
    needs.check();
    accounts = USERS.map((name) => ensureUser(name));
    box = createSandbox();
    assert.equal(box.admin(['--createdb']).code, 0);
    inst = installLauncher(box, { service: false });
  });
  after(() => box?.remove());

  test(`${USERS.length} users x ${CALLERS_PER_USER} callers, ${CALLS} calls each: none fails`, async () => {
    const sessions = accounts.map((user, i) => {
      const sid = `${user.name}-${60 + i}-1700000000_stDxfce_dp24`;
      const r = inst.helper('x2goinsertsession', [String(60 + i), SERVER, sid], user);
      assert.equal(r.code, 0, r.stderr);
      return sid;
    });
    const started = Date.now();
    const loops = accounts.flatMap((user, i) =>
      Array.from({ length: CALLERS_PER_USER }, () =>
        runAsync('/bin/sh', ['-c', LOOP], {
          as: user,
          env: { CALLS: String(CALLS), HELPERS: join(inst.prefix, 'helpers'), SID: sessions[i] ?? '' },
        }),
      ),
    );
    const results = await Promise.all(loops);
    const seconds = (Date.now() - started) / 1000;
    const failures = results.flatMap((r) => r.stdout.split('\n').filter((l) => l.startsWith('FAIL')));
    const total = USERS.length * CALLERS_PER_USER * CALLS;
    console.log(`# ${total} calls in ${seconds.toFixed(1)} s, ${failures.length} failed`);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${total} calls failed`);
  });
});
