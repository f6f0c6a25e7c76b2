// Property-based fuzzing of every command's arguments through the setgid launcher (issue 9),
// bounded in time: an ordinary user runs helpers and x2godb with arguments that fit each
// command's usage, mostly valid and sometimes anything, once answered by the resident service
// and once by the launcher's own Node run. Every answer must be a documented exit code (0-4),
// a failure one line on stderr with nothing on stdout, and nothing but the caller's own rows may
// change.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { HELPERS } from '../src/app/helpers.js';
import { lookupGroupId, type Account } from '../src/system/accounts.js';
import { commandArbitrary, othersRows, SRV, sid } from './support/fuzz.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { hasCompiler, isRoot, requires } from './support/requirements.js';
import { createSandbox, type Sandbox } from './support/sandbox.js';
import type { Result } from './support/system.js';
import { ensureUser } from './support/system.js';

const needs = requires(
  [isRoot, 'root'],
  [hasCompiler, '/usr/bin/cc'],
  [lookupGroupId('x2gouser') !== undefined, 'group x2gouser (x2goserver)'],
);

/** Each way in is fuzzed this long (a call through the service takes milliseconds, a Node run tens). */
const TIME_LIMIT_MS = 4_000;

/** A command line cannot carry a NUL byte; everything else goes through as generated. */
const argv = (args: readonly string[]) => args.map((a) => a.replaceAll('\0', ''));

function call(inst: Installed, program: string, args: readonly string[], user: Account): Result {
  return Object.hasOwn(HELPERS, program) ? inst.helper(program, argv(args), user) : inst.x2godb(argv(args), user);
}

for (const viaService of [true, false]) {
  describe(
    `command arguments fuzzed through the launcher, ${viaService ? 'answered by the service' : 'run by Node'} (issue 9)`,
    needs.options,
    () => {
      let box: Sandbox;
      let inst: Installed;
      let alice: Account;
      let bob: Account;

      before(() => {
        needs.check();
        alice = ensureUser('alice');
        bob = ensureUser('bob');
        box = createSandbox();
        assert.equal(box.admin(['--createdb']).code, 0);
        inst = installLauncher(box, { service: viaService });
        // Bob's rows, with a port and a mount, for alice's calls to aim at.
        for (const n of [0, 1]) {
          assert.equal(inst.helper('x2goinsertsession', [String(50 + n), SRV, sid('bob', n)], bob).stdout, 'inserted');
          assert.equal(inst.helper('x2goinsertport', [SRV, sid('bob', n), String(30000 + n)], bob).code, 0);
        }
        assert.equal(inst.x2godb(['insertmount', sid('bob', 0), '/home/bob/share', '10.1.2.3'], bob).code, 0);
      });
      after(async () => {
        await inst?.service?.stop();
        box?.remove();
      });

      test("every answer is a documented exit code, a failure is one line, and no row but alice's changes", () => {
        const before = othersRows(box.dbPath, 'alice');
        let runs = 0;
        fc.assert(
          fc.property(commandArbitrary([alice, bob]), ({ program, args }) => {
            runs++;
            const r = call(inst, program, args, alice);
            const what = `${program} ${JSON.stringify(args)}`;
            assert.ok(r.code >= 0 && r.code <= 4, `${what}: exit ${r.code}: ${r.stderr}`);
            if (r.code !== 0) {
              assert.equal(r.stdout, '', what);
              assert.match(r.stderr, /^[^\n]+\n$/, what);
            }
          }),
          {
            numRuns: 100_000,
            interruptAfterTimeLimit: TIME_LIMIT_MS,
            markInterruptAsFailure: false,
            seed: Number.parseInt(randomBytes(4).toString('hex'), 16) | 0,
          },
        );
        assert.ok(runs >= 20, `only ${runs} runs in ${TIME_LIMIT_MS} ms`);
        assert.equal(othersRows(box.dbPath, 'alice'), before, 'a row of someone else changed');
        if (inst.service) assert.equal(inst.service.child.exitCode, null, inst.service.log());
      });

      test('x2golistsessions, x2golistshadowsessions: fuzzed arguments and agent state directories (issue 15)', () => {
        const before = othersRows(box.dbPath, 'alice');
        const base = '/tmp/.x2go-alice';
        // Stand-ins, so that a transition runs nothing of the system's.
        const bin = mkdtempSync('/tmp/x2godb-fuzz-bin-');
        chmodSync(bin, 0o755);
        for (const name of ['x2goumount-session', 'x2gopath']) writeFileSync(join(bin, name), '#!/bin/sh\n', { mode: 0o755 });
        // Entries of any name and content, some of them links, some the sessions' own.
        const entry = fc.record({
          name: fc.oneof(fc.constantFrom(sid('alice', 0), sid('alice', 1), sid('bob', 0)), fc.string({ maxLength: 40 })),
          state: fc.oneof(fc.constantFrom('RUNNING', 'SUSPENDED', 'STARTING', 'SUSPENDED\n'), fc.string({ maxLength: 40 })),
          link: fc.boolean(),
        });
        let runs = 0;
        try {
          fc.assert(
            fc.property(
              fc.constantFrom('x2golistsessions', 'x2golistshadowsessions'),
              fc.array(fc.oneof(fc.constantFrom('--all-servers', SRV, '0', ''), fc.string({ maxLength: 300 })), { maxLength: 3 }),
              fc.array(entry, { maxLength: 6 }),
              (program, args, entries) => {
                runs++;
                rmSync(base, { recursive: true, force: true });
                mkdirSync(base, { mode: 0o700 });
                chownSync(base, alice.uid, alice.gid);
                for (const e of entries) {
                  const name = `C-${e.name.replaceAll('/', '_').replaceAll('\0', '')}`;
                  if (name.length > 255) continue;
                  const dir = join(base, name);
                  rmSync(dir, { recursive: true, force: true });
                  if (e.link) {
                    symlinkSync('/etc', dir);
                    continue;
                  }
                  mkdirSync(dir, { mode: 0o700 });
                  writeFileSync(join(dir, 'state'), e.state);
                  chownSync(dir, alice.uid, alice.gid);
                  chownSync(join(dir, 'state'), alice.uid, alice.gid);
                }
                const r = inst.helper(program, argv(args), alice, { PATH: `${bin}:/usr/bin:/bin` });
                const what = `${program} ${JSON.stringify(args)} ${JSON.stringify(entries)}`;
                assert.ok(r.code >= 0 && r.code <= 4, `${what}: exit ${r.code}: ${r.stderr}`);
                if (r.code !== 0) {
                  assert.equal(r.stdout, '', what);
                  assert.match(r.stderr, /^[^\n]+\n$/, what);
                }
                assert.doesNotMatch(r.stdout, /\0/, what);
              },
            ),
            {
              numRuns: 100_000,
              interruptAfterTimeLimit: TIME_LIMIT_MS,
              markInterruptAsFailure: false,
              seed: Number.parseInt(randomBytes(4).toString('hex'), 16) | 0,
            },
          );
        } finally {
          rmSync(base, { recursive: true, force: true });
          rmSync(bin, { recursive: true, force: true });
        }
        assert.ok(runs >= 10, `only ${runs} runs in ${TIME_LIMIT_MS} ms`);
        assert.equal(othersRows(box.dbPath, 'alice'), before, 'a row of someone else changed');
        if (inst.service) assert.equal(inst.service.child.exitCode, null, inst.service.log());
      });
    },
  );
}
