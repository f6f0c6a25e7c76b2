// A stand-in for the resident service on a launcher's socket, in the test's process: it speaks
// X2DB1 as the service does, takes X2DB2 and X2DB3 as a test says, and records each request's
// magic and first argument (a listing's agent state report, agent-report.ts).

import { chmodSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { encodeResponse } from '../../src/service/protocol.js';
import { installPrefix } from './launcher.js';
import { createSandbox } from './sandbox.js';
import { scratchDir } from './scratch.js';

/**
 * How the stand-in takes an X2DB2 request: as the service before X2DB2 did ('older': bytes after
 * the request are refused first, then a magic it does not know), accepted (null), or refused
 * with a given line.
 */
export type V2Answer = 'older' | string | null;

/** A service that speaks X2DB1 as the real one does; records each request's magic and first argument. */
function standInService(socket: string, v2: (magic: string) => V2Answer, seen: string[], firsts: string[]): Promise<Server> {
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

export interface StandInLauncher {
  /** The launcher's installation: helpers/<program> are its names. */
  prefix: string;
  socket: string;
  /** Each request's magic, and its first argument, in order. */
  seen: string[];
  firsts: string[];
  remove(): void;
}

/** A launcher installed in a sandbox, asking a stand-in service (standInService) on its socket. */
export async function launcherWithStandIn(v2: (magic: string) => V2Answer): Promise<StandInLauncher> {
  const box = createSandbox();
  const dir = scratchDir('x2godb-standin-');
  chmodSync(dir, 0o755);
  const socket = join(dir, 'sessiond.sock');
  const prefix = join(box.dir, 'prefix');
  installPrefix(prefix, box.configDir, socket);
  const seen: string[] = [];
  const firsts: string[] = [];
  const server = await standInService(socket, v2, seen, firsts);
  return {
    prefix,
    socket,
    seen,
    firsts,
    remove: () => {
      server.close();
      box.remove();
    },
  };
}
