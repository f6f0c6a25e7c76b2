// The syslog lines x2golistsessions and x2golistshadowsessions ask their caller's side to write
// (agent-report.ts: "L<priority> <message>" before the listing), at [log] loglevel of
// x2goserver.conf as X2Go::Log reads it: the reference programs' own lines, on a real SQLite
// sandbox through the same dispatch the CLI and the service run. No root needed.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeActions, formatReport } from '../src/app/agent-report.js';
import { dispatch } from '../src/app/dispatch.js';
import { createSandbox, type Sandbox } from './support/sandbox.js';

let box: Sandbox;
const caller = { uid: process.getuid?.() ?? 0, name: userInfo().username };
const sid = `${caller.name}-51-1700000051_stDxfce_dp24`;
const report = (host: string) => formatReport({ round: 1, complete: true, host, states: new Map() });

async function logs(program: string, args: string[], loglevel: string, host = 'x2go-test'): Promise<string[]> {
  writeFileSync(join(box.configDir, 'x2goserver.conf'), `[log]\nloglevel=${loglevel}\n`);
  const r = await dispatch({ caller, program, args: [report(host), ...args], configDir: box.configDir, mayChooseConfig: true });
  return decodeActions(r.stdout).actions.map((a) => (a.kind === 'log' ? `${a.priority} ${a.message}` : a.kind));
}

before(() => {
  box = createSandbox();
  assert.equal(box.admin(['--createdb']).code, 0);
  assert.equal(box.helper('x2goinsertsession', ['51', 'x2go-test', sid]).code, 0);
});
after(() => box.remove());

test('the called-with lines: info with options, debug without, none at notice (the default)', async () => {
  assert.deepEqual(await logs('x2golistsessions', ['--all-servers'], 'info'), [
    '6 x2golistsessions has been called with options: --all-servers',
  ]);
  assert.deepEqual(await logs('x2golistsessions', [], 'info'), []);
  assert.deepEqual(await logs('x2golistsessions', [], 'debug'), ['7 x2golistsessions has been called with no option']);
  assert.deepEqual(await logs('x2golistshadowsessions', ['a', 'b'], 'debug'), [
    '6 x2golistshadowsessions has been called with options: a b',
  ]);
  assert.deepEqual(await logs('x2golistsessions', ['x2go-test'], 'notice'), []);
  // X2Go::Log: an unknown name is notice.
  assert.deepEqual(await logs('x2golistsessions', ['x2go-test'], 'INFO'), []);
});

test('the hostname check logs first, then refuses, as the reference', async () => {
  assert.deepEqual(await logs('x2golistsessions', [], 'debug', 'localhost'), ['7 x2golistsessions has been called with no option']);
  const r = await dispatch({
    caller,
    program: 'x2golistsessions',
    args: [report('(none)')],
    configDir: box.configDir,
    mayChooseConfig: true,
  });
  assert.equal(r.exitCode, 255);
  assert.equal(
    r.stderr,
    'Hostname of X2Go Server is not set-up correctly, check /etc/hostname. Exiting... at /usr/bin/x2golistsessions line 44.\n',
  );
});
