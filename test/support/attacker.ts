// An ordinary user who holds egid x2gouser (as the reference's setgid leftovers gave it) and
// talks to the service's socket directly, bypassing the launcher: what the attack and fuzzing
// suites send as her (test/service-attacks.test.ts, test/service-fuzz.test.ts).

import { spawn } from 'node:child_process';
import { lookupGroupId, type Account } from '../../src/system/accounts.js';

/** The service's answer to one frame, or how the connection ended without one. */
export interface Answer {
  accept?: string;
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  /** The connection failed (an errno code) or was closed ('closed') before a whole answer. */
  error?: string;
}

/**
 * Runs as the attacker: frames (base64, JSON) on stdin, each sent whole on its own connection
 * with the go-ahead after an accept; one JSON answer per frame on stdout.
 */
const CLIENT = `
const net = require('net');
const frames = JSON.parse(require('fs').readFileSync(0, 'utf8')).map((f) => Buffer.from(f, 'base64'));
const ask = (frame) => new Promise((resolve) => {
  const s = net.connect(process.argv[1], () => s.write(frame));
  let got = Buffer.alloc(0);
  let accept;
  s.on('data', (d) => {
    got = Buffer.concat([got, d]);
    if (accept === undefined) {
      accept = String.fromCharCode(got[0]);
      got = got.subarray(1);
      if (accept === 'R' || accept === 'W') s.write('G');
    }
    if (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) {
      const body = got.subarray(4);
      const outLength = body.readUInt32BE(1);
      resolve({ accept, exitCode: body[0], stdout: body.subarray(5, 5 + outLength).toString(), stderr: body.subarray(5 + outLength).toString() });
      s.destroy();
    }
  });
  s.on('error', (e) => resolve({ accept, error: e.code }));
  s.on('close', () => resolve({ accept, error: 'closed' }));
});
(async () => { for (const f of frames) console.log(JSON.stringify(await ask(f))); })();
`;

/**
 * Sends `frames` to `socket` as `user` with effective gid x2gouser. Asynchronous: a service
 * started by the test logs to it through a pipe, which must be read meanwhile (a full pipe would
 * stop the service).
 */
export function askWithGroup(user: Account, socket: string, frames: readonly Buffer[]): Promise<Answer[]> {
  const gid = lookupGroupId('x2gouser');
  if (gid === undefined) throw new Error('group x2gouser does not exist (x2goserver)');
  return new Promise((resolve, reject) => {
    const child = spawn(
      '/usr/bin/setpriv',
      [`--reuid=${user.uid}`, `--rgid=${user.gid}`, `--egid=${gid}`, '--clear-groups', process.execPath, '-e', CLIENT, socket],
      { env: {}, cwd: '/', timeout: 60_000 },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`the attacker's process failed (${String(code)}): ${stderr}`));
      const answers = stdout
        .trim()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Answer);
      if (answers.length !== frames.length) return reject(new Error(`${answers.length} answers to ${frames.length} frames: ${stderr}`));
      resolve(answers);
    });
    child.stdin.end(JSON.stringify(frames.map((f) => f.toString('base64'))));
  });
}
