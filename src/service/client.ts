// The protocol's client side in Node: x2go-sessiondb status asks the service for its counters
// with it, and tests and benchmarks use it to speak to the socket as the launcher does.

import { connect } from 'node:net';
import {
  ACCEPT_READ,
  ACCEPT_WRITE,
  decodeResponse,
  encodeRequest,
  GO,
  monotonicMs,
  REJECTED,
  STATUS_PROGRAM,
  type ServiceRequest,
} from './protocol.js';
import type { ServiceStats } from './server.js';

export interface ServiceAnswer {
  /** 'R' or 'W' when the command ran, 'E' when the request was rejected. */
  accept: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Sends raw bytes (a request frame, or anything) and runs the exchange to its end: the go-ahead
 * after the accept, unless `goAheadSent` (an X2DB2 frame that carries it).
 */
export function exchange(socketPath: string, frame: Buffer, timeoutMs = 10_000, goAheadSent = false): Promise<ServiceAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let received = Buffer.alloc(0);
    let accept: number | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(frame));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (accept === undefined) {
        accept = received[0];
        received = received.subarray(1);
        if (accept === ACCEPT_READ || accept === ACCEPT_WRITE) {
          if (!goAheadSent) socket.write(Buffer.of(GO));
        } else if (accept !== REJECTED) socket.destroy(new Error(`unexpected byte ${String(accept)} from ${socketPath}`));
      }
      if (received.length >= 4 && received.length >= 4 + received.readUInt32BE(0)) {
        clearTimeout(timer);
        socket.end();
        resolve({ accept: String.fromCharCode(accept ?? 0), ...decodeResponse(received.subarray(4)) });
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`${socketPath} closed the connection before answering`));
    });
  });
}

/** Asks as the launcher does: an X2DB2 request with its go-ahead, one exchange. */
export function ask(socketPath: string, request: ServiceRequest, timeoutMs?: number): Promise<ServiceAnswer> {
  const frame = encodeRequest({ ...request, sentAtMs: monotonicMs() });
  return exchange(socketPath, Buffer.concat([frame, Buffer.of(GO)]), timeoutMs, true);
}

/**
 * The service's counters. Asked in X2DB1, which every version answers: x2go-sessiondb status,
 * stop and uninstall must see a service an upgrade has not restarted yet.
 */
export async function serviceStats(socketPath: string, timeoutMs = 2_000): Promise<ServiceStats> {
  const request = encodeRequest({ uid: process.getuid?.() ?? 0, program: STATUS_PROGRAM, args: [] });
  const answer = await exchange(socketPath, request, timeoutMs);
  return JSON.parse(answer.stdout) as ServiceStats;
}
