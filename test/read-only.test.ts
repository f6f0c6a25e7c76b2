// Whether a command only reads decides whether the resident service's launcher may run it again
// after a broken connection (at most once for writes). This runs every command of the table and
// every helper once, with valid arguments, against a real SQLite store wrapped in a proxy that
// records every store method called, and checks that what readsOnly() says is what the store saw:
// a command that calls any writing method is never classed as reading, and one classed as
// writing does write (so the test is not vacuous).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { COMMANDS } from '../src/app/commands.js';
import { dispatch, processEnvironment, readsOnly, type Environment } from '../src/app/dispatch.js';
import { HELPERS } from '../src/app/helpers.js';
import type { SessionStore } from '../src/model/store.js';
import { isRoot, me, server, SID, validArguments } from './support/arguments.js';
import { createSandbox, type Sandbox } from './support/sandbox.js';

/**
 * The store methods that only read. Any other method a command calls counts as a write, so a
 * method added to SessionStore is a write here until it is listed.
 */
const READING: ReadonlySet<string> = new Set([
  'traits',
  'listSessions',
  'getSession',
  'displays',
  'ports',
  'servers',
  'nodes',
  'mounts',
  // The history, read by x2godb history; the node registry, read by x2gogetservers --json.
  'events',
  'nodes',
  'schemaVersion',
  'ownedBy',
  'close',
]);

/** An environment whose stores note the names of the methods called on them. */
function recording(called: Set<string>): Environment {
  return {
    settings: processEnvironment.settings,
    withStore: (settings, caller, work) =>
      processEnvironment.withStore(settings, caller, (store) =>
        work(
          new Proxy(store, {
            get(target, key, receiver) {
              const value: unknown = Reflect.get(target, key, receiver);
              if (typeof key !== 'string' || typeof value !== 'function') return value;
              return (...args: unknown[]) => {
                called.add(key);
                return (value as (...a: unknown[]) => unknown).apply(target, args);
              };
            },
          }) as SessionStore,
        ),
      ),
  };
}

describe('read-only classification: what readsOnly() says is what the store saw', () => {
  let box: Sandbox;
  before(() => {
    box = createSandbox();
    box.admin(['--createdb']);
  });
  after(() => box.remove());

  const caller = { uid: process.getuid?.() ?? -1, name: me };
  const plain = (args: string[]) => dispatch({ caller, program: 'x2godb', args, configDir: box.configDir, mayChooseConfig: true });

  /** A finished session with a port and a mount, so that every change has something to change. */
  async function seed(): Promise<void> {
    await plain(['deletemounts', SID]);
    await plain(['rmsessionsroot', SID]);
    for (const args of [
      ['insertsession', '51', server, SID],
      ['insertport', server, SID, '30001'],
      ['insertmount', SID, '/tmp/.x2go-u/media/disk/_home', '10.0.0.1'],
      ['changestatus', 'F', SID],
    ]) {
      const res = await plain(args);
      assert.equal(res.exitCode, 0, `seeding ${args[0]}: ${res.stderr}`);
    }
  }

  /**
   * Root may store a desktop-sharing row under any id; a user only one of their own desktop for
   * an existing viewer (themselves, here), so that the command gets as far as the store.
   */
  const sharing = (usage: string, args: string[]): string[] =>
    isRoot || !usage.includes('<shadreq_user>') ? args : args.map((a) => (a === SID ? SHADOW_SID : a === 'root' ? me : a));
  const SHADOW_SID = `${me}-51-1700000051_stS1XSHAD${me}XSHADPP51_dp24`;
  const all = [
    ...Object.entries(COMMANDS).map(([name, spec]) => ({
      program: 'x2godb',
      args: [name, ...sharing(spec.usage, validArguments(name, spec.usage))],
    })),
    ...Object.entries(HELPERS).map(([name, spec]) => ({ program: name, args: sharing(spec.usage, validArguments(name, spec.usage)) })),
  ];

  test(`${all.length} commands and helpers: a write is never classed as a read`, async () => {
    for (const { program, args } of all) {
      await seed();
      const called = new Set<string>();
      const res = await dispatch({ caller, program, args, configDir: box.configDir, mayChooseConfig: true }, recording(called));
      const what = `${program} ${args.join(' ')}`;
      const writes = [...called].filter((method) => !READING.has(method));
      const reads = readsOnly({ program, args, mayChooseConfig: true });
      if (reads) assert.deepEqual(writes, [], `${what} is classed as reading but called ${writes.join(', ')}`);
      else assert.notDeepEqual(writes, [], `${what} is classed as writing but wrote nothing (exit ${res.exitCode}: ${res.stderr})`);
      // The service asks without --config; the classification does not depend on it.
      assert.equal(readsOnly({ program, args, mayChooseConfig: false }), reads, what);
    }
  });

  test('what cannot be planned reads nothing', () => {
    for (const args of [[], ['--help'], ['nosuchcommand'], ['--bogus', 'insertsession'], ['--config']]) {
      assert.equal(readsOnly({ program: 'x2godb', args, mayChooseConfig: true }), true, args.join(' '));
    }
    assert.equal(readsOnly({ program: 'x2godb', args: ['--config', '/tmp', 'insertsession'], mayChooseConfig: true }), false);
  });
});
