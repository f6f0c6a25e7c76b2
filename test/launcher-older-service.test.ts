// The launcher speaks X2DB2 (the go-ahead with the request), and X2DB3 for the listings (their
// report after it); a service started before that version (an upgrade has replaced the launcher
// but not yet restarted the service) refuses it, having run nothing, and the launcher asks again
// in X2DB1 instead of failing the call. Any other
// refusal is the caller's answer; x2go-sessiondb status asks in X2DB1 from the start. A
// stand-in service on the launcher's socket plays the older one, as root in this process; the
// launcher runs as alice.

import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { serviceStats } from '../src/service/client.js';
import { encodeResponse } from '../src/service/protocol.js';
import { lookupGroupId, type Account } from '../src/system/accounts.js';
import { installPrefix } from './support/launcher.js';
import { hasCompiler, isRoot, requires } from './support/requirements.js';
import { createSandbox, type Sandbox } from './support/sandbox.js';
import { scratchDir } from './support/scratch.js';
import { ensureUser, runAsync } from './support/system.js';

const needs = requires(
  [isRoot, 'root'],
  [hasCompiler, '/usr/bin/cc'],
  [lookupGroupId('x2gouser') !== undefined, 'group x2gouser (x2goserver)'],
);
const SRV = 'x2go-test';

/**
 * How the stand-in takes an X2DB2 request: as the service before X2DB2 did ('older': bytes after
 * the request are refused first, then a magic it does not know), accepted (null), or refused
 * with a given line.
 */
type V2Answer = 'older' | string | null;

/** A service that speaks X2DB1 as the real one does; records each request's magic and first argument. */
function standIn(socket: string, v2: (magic: string) => V2Answer, seen: string[], firsts: string[]): Promise<Server> {
  const server = createServer((s) => {
    let buffered = Buffer.alloc(0);
    let accepted = false;
    s.on('data', (chunk: Buffer) => {
      // Refused already: what still comes (an X2DB3 request's trailer) is not another request, as in the service.
      if (s.writableEnded && !accepted) return;
      if (accepted) {
        // X2DB1's go-ahead, after the accept.
        if (chunk.toString() === 'G') s.end(encodeResponse(0, 'answered in X2DB1\n', ''));
        return;
      }
      buffered = Buffer.concat([buffered, chunk]);
      const end = 4 + (buffered.length >= 4 ? buffered.readUInt32BE(0) : 0);
      if (buffered.length < 4 || buffered.length < end) return;
      const magic = buffered.subarray(4, 9).toString();
      seen.push(magic);
      const fields = buffered.subarray(4, end).toString().split('\0');
      firsts.push(fields[magic === 'X2DB1' ? 3 : 4] ?? '');
      const refuse = (line: string) => s.end(Buffer.concat([Buffer.from('E'), encodeResponse(2, '', line)]));
      if (magic === 'X2DB1') {
        accepted = true;
        s.write('R');
        return;
      }
      const answer = v2(magic);
      if (answer === null) s.end(Buffer.concat([Buffer.from('R'), encodeResponse(0, 'answered in X2DB2\n', '')]));
      else if (answer !== 'older') refuse(answer);
      // The order of the service before X2DB2 (server.ts at 2d86da2): the go-ahead that X2DB2
      // writes with the request is refused before the request is even decoded.
      else if (buffered.length > end) refuse('x2gosessiond: bytes after the request before its accept\n');
      else refuse('x2gosessiond: not an x2godb request\n');
    });
    s.on('error', () => s.destroy());
  });
  return new Promise((resolve) =>
    server.listen(socket, () => {
      chmodSync(socket, 0o666);
      resolve(server);
    }),
  );
}

describe('the launcher and a service older than X2DB2', needs.options, () => {
  let box: Sandbox;
  let prefix: string;
  let socket: string;
  let alice: Account;
  let server: Server;
  let answer: (magic: string) => V2Answer;
  const seen: string[] = [];
  const firsts: string[] = [];

  before(async () => {
    needs.check();
    alice = ensureUser('alice');
    box = createSandbox();
    const dir = scratchDir('x2godb-older-');
    chmodSync(dir, 0o755);
    socket = join(dir, 'sessiond.sock');
    prefix = join(box.dir, 'prefix');
    installPrefix(prefix, box.configDir, socket);
    server = await standIn(socket, (magic) => answer(magic), seen, firsts);
  });
  after(() => {
    server?.close();
    box?.remove();
  });

  const call = () => runAsync(join(prefix, 'helpers', 'x2gogetdisplays'), [SRV], { as: alice });

  test('a service that answers X2DB2 is asked once', async () => {
    seen.length = 0;
    answer = () => null;
    const r = await call();
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'answered in X2DB2\n', '']);
    assert.deepEqual(seen, ['X2DB2']);
  });

  for (const [how, older] of [
    ['for its go-ahead, written with it', 'older'],
    ['as not a request (read without its go-ahead)', 'x2gosessiond: not an x2godb request\n'],
  ] as const) {
    test(`an older service refuses X2DB2 ${how}: asked again in X2DB1, answered`, async () => {
      seen.length = 0;
      answer = () => older;
      const r = await call();
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'answered in X2DB1\n', '']);
      assert.deepEqual(seen, ['X2DB2', 'X2DB1']);
    });
  }

  test('a listing with many sessions asks in X2DB3, its report to follow (a service older than that is asked again with the report in the request); with few, in X2DB2 with it', async () => {
    const listing = () => runAsync(join(prefix, 'helpers', 'x2golistsessions'), [], { as: alice });
    // A few sessions' directories (none): the report goes with the request.
    seen.length = 0;
    firsts.length = 0;
    answer = () => null;
    const few = await listing();
    assert.deepEqual([few.code, few.stdout, seen], [0, 'answered in X2DB2\n', ['X2DB2']]);
    assert.match(firsts[0] ?? '', /^X2LS1 1 complete \S+$/);

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
        seen.length = 0;
        firsts.length = 0;
        answer = older;
        const r = await listing();
        assert.deepEqual([r.code, r.stdout, r.stderr], [0, `answered in ${answered}\n`, '']);
        assert.deepEqual(seen, versions);
        assert.match(firsts[0] ?? '', /^X2LS1 1 follows \S+$/);
        for (const first of firsts.slice(1)) assert.match(first, /^X2LS1 1 (complete|partial) \S+/);
      }
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  test('x2go-sessiondb status asks in X2DB1, which a service older than X2DB2 answers too', async () => {
    seen.length = 0;
    answer = () => 'older';
    // The stand-in answers no counters; what matters is the version it was asked in.
    await serviceStats(socket).catch(() => undefined);
    assert.deepEqual(seen, ['X2DB1']);
  });

  test('any other rejection of X2DB2 is the answer, not asked again', async () => {
    seen.length = 0;
    const line = 'x2gosessiond: request read 4500 ms after it was sent (its launcher gives up at 5 s); not run\n';
    answer = () => line;
    const r = await call();
    assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', line]);
    assert.deepEqual(seen, ['X2DB2']);
  });
});
