// The client of the root helper x2gosessiond-runas (src/runas/main.ts): how the resident service,
// which has no root, has x2goterminate-session or x2gosuspend-session run as a session's user.
// The helper checks, by the kernel's word, that the service asks, and that the session is a live
// one of that user on this server. Used through run-as-session-user.ts.

import { connect } from 'node:net';
import { DEFAULT_RUNAS_SOCKET, MAX_RUNAS_REQUEST, type RunAsAnswer, type RunAsProgram } from '../runas/protocol.js';

/**
 * Runs `program <session>` as the session's user, through x2gosessiond-runas. Resolves with the
 * program's exit code and last stderr line (or the helper's refusal: 2 bad input, 3 denied);
 * rejects when the helper cannot be reached or does not answer in time.
 */
export function askRunAs(
  program: RunAsProgram,
  session: string,
  options: { socket?: string | undefined; timeoutMs?: number } = {},
): Promise<RunAsAnswer> {
  const socketPath = options.socket ?? DEFAULT_RUNAS_SOCKET;
  const line = `${JSON.stringify({ program, session })}\n`;
  if (Buffer.byteLength(line) > MAX_RUNAS_REQUEST) {
    return Promise.resolve({ exitCode: 2, stderr: 'x2gosessiond-runas: request too long' });
  }
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let received = '';
    const timer = setTimeout(
      () => socket.destroy(new Error(`x2gosessiond-runas at ${socketPath} did not answer in time`)),
      options.timeoutMs ?? 70_000,
    );
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(line));
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.length > 64 * 1024) socket.destroy(new Error('x2gosessiond-runas: answer too long'));
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        const answer = JSON.parse(received) as RunAsAnswer;
        if (typeof answer.exitCode !== 'number' || typeof answer.stderr !== 'string') throw new Error('malformed');
        resolve(answer);
      } catch {
        reject(new Error(`x2gosessiond-runas at ${socketPath} closed the connection without an answer`));
      }
    });
  });
}
