// x2gosessiond's core: answers launcher requests on a Unix socket with the same dispatch the CLI
// runs (src/app/dispatch.ts), in this one thread. Nothing here waits on the database: PostgreSQL's
// driver only waits asynchronously, and the SQLite store never enters SQLite's blocking busy wait
// (its timeout is 0; a request that meets a lock held by another process tries again on a timer,
// sqlite/shared.ts), so a lock held elsewhere never keeps the service from taking and answering
// calls. (A worker thread did this job for SQLite until the busy wait was gone; handing each
// request to it and back cost a call more than its query.)
//
// Who is calling is what the kernel says (SO_PEERCRED, peer.ts), never what a request says: a
// request whose uid differs from its sender's is rejected and logged, and every request is then
// authorized as the CLI would authorize that uid (and, on PostgreSQL, by the database after
// SET LOCAL ROLE). The socket's mode (root:x2gouser 0660 in a directory only root writes) is a
// second fence: see README, "Resident service", "Threat model".

import { createServer, type Server, type Socket } from 'node:net';
import type { Settings } from '../config/config.js';
import { readsOnly, type Response, takesTrailer } from '../app/dispatch.js';
import { EXIT_CODES } from '../model/errors.js';
import { DispatchHost } from './dispatch-host.js';
import type { Level, Logger } from './log.js';
import { peerOf, type PeerCredentials } from './peer.js';
import {
  ACCEPT_READ,
  ACCEPT_WRITE,
  decodeRequest,
  encodeResponse,
  GO,
  MAX_REQUEST,
  monotonicMs,
  ProtocolError,
  REJECTED,
  STALE_AFTER_MS,
  STATUS_PROGRAM,
  type ServiceRequest,
} from './protocol.js';
import { SettingsWatch } from './settings-watch.js';
import { TrailerFrame } from './trailer.js';

/** A caller has this long to send its request, and then its go-ahead. */
const READ_TIMEOUT_MS = 5_000;
/** SIGTERM waits this long for requests in flight, then closes what is left. */
const DRAIN_TIMEOUT_MS = 30_000;

export interface ServiceStats {
  pid: number;
  backend: string;
  startedAt: string;
  uptimeSeconds: number;
  /** Commands run (answered with their exit code). */
  requests: number;
  /** Of those, answered with a non-zero exit code. */
  failed: number;
  /** Of those, exit 4: the database could not be opened, reached or did not answer (or the configuration is unusable). */
  unavailable: number;
  /** Malformed, oversized, too slow or falsely signed requests, closed without running anything. */
  rejected: number;
  inFlight: number;
  rssBytes: number;
}

/** Who hears of each answered or rejected request (the metrics, observe/metrics.ts). */
export interface RequestObserver {
  answered(program: string, args: readonly string[], exitCode: number, seconds: number): void;
  rejected(): void;
}

export class SessionService {
  #log: Logger;
  readonly #watch: SettingsWatch;
  readonly #server: Server;
  readonly #host: DispatchHost;
  readonly #connections = new Set<Socket>();
  /** Connections from their accept byte to their answer: what SIGTERM waits for. */
  readonly #busy = new Set<Socket>();
  readonly #startedAt = new Date();
  #counts = { requests: 0, failed: 0, unavailable: 0, rejected: 0, inFlight: 0 };
  #draining = false;
  observer: RequestObserver | undefined;

  /**
   * `makeLogger` gives the logger for a log level: settings read again may change the level.
   * `node` is this node's server name (--hostname), which the history's events carry.
   */
  constructor(settings: Settings, makeLogger: (level: string) => Logger, node: string) {
    this.#log = makeLogger(settings.logLevel);
    const log = (level: Level, message: string) => this.#log.log(level, message);
    this.#watch = new SettingsWatch(
      settings,
      (changed) => {
        this.#log = makeLogger(changed.logLevel);
        this.#host.retire();
      },
      log,
    );
    this.#host = new DispatchHost(log, node);
    this.#server = createServer({ allowHalfOpen: false }, (socket) => this.#accept(socket));
  }

  get server(): Server {
    return this.#server;
  }

  stats(): ServiceStats {
    return {
      pid: process.pid,
      backend: this.#watch.settings.backend.name,
      startedAt: this.#startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.#startedAt.getTime()) / 1000),
      ...this.#counts,
      rssBytes: process.memoryUsage.rss(),
    };
  }

  /** Runs a command as root on the service's own stores (the dashboard's admin actions). */
  async runAsRoot(program: string, args: string[]): Promise<Response> {
    const settings = this.#watch.current();
    return this.#host.run(settings, 0, program, args);
  }

  /** The settings in force now. */
  currentSettings(): Settings {
    return this.#watch.current();
  }

  /**
   * History retention ([sessiond] history_days=): removes older events as root, as a request
   * would. Never fails the service: logged.
   */
  async pruneHistory(): Promise<void> {
    if (this.#draining) return;
    const settings = this.#watch.current();
    try {
      const r = await this.#host.run(settings, 0, 'x2godb', ['prunehistory', String(settings.historyDays)]);
      if (r.exitCode !== 0) this.#log.log('warning', `history pruning failed: ${r.stderr.trim()}`);
      else if (r.stdout !== '0') this.#log.log('info', `history: removed ${r.stdout} events older than ${settings.historyDays} days`);
    } catch (err) {
      this.#log.log('warning', `history pruning failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Opens the stores now, so that the first caller does not wait; a failure is only logged. */
  async warm(): Promise<void> {
    const settings = this.#watch.current();
    await this.#host.warm(settings);
  }

  #accept(socket: Socket): void {
    if (this.#draining) {
      socket.destroy();
      return;
    }
    let peer: PeerCredentials;
    try {
      peer = peerOf(socket);
    } catch (err) {
      // Without the kernel's word there is nobody to answer for.
      this.#log.log('err', `cannot tell who connected: ${err instanceof Error ? err.message : String(err)}`);
      socket.destroy();
      return;
    }
    this.#connections.add(socket);
    socket.on('close', () => {
      this.#connections.delete(socket);
      this.#busy.delete(socket);
    });
    socket.on('error', () => socket.destroy());

    // The request's bytes as they come, joined once it is whole: joining on every piece would
    // copy a 64 KiB request sent a byte at a time some 2 GB.
    const pieces: Buffer[] = [];
    let received = 0;
    let length: number | undefined;
    let request: ServiceRequest | undefined;
    // X2DB3: what follows the go-ahead, from the request's read until it is whole.
    let trailer: TrailerFrame | undefined;
    let goSeen = false;
    let started = false;
    // Timers run before the poll phase reads sockets: after the event loop was busy for a while
    // a request may be waiting unread. The check waits for setImmediate, which runs after it.
    const timer = setTimeout(
      () => setImmediate(() => !started && !socket.writableEnded && this.#reject(socket, 'request or go-ahead not in time')),
      READ_TIMEOUT_MS,
    );
    socket.on('close', () => {
      clearTimeout(timer);
      trailer?.fail('the caller went away before its trailer');
    });

    const go = (): void => {
      if (!trailer) socket.off('data', onData);
      clearTimeout(timer);
      // Once; and never after a refusal (a go-ahead that came after the time allowed).
      if (started || socket.writableEnded || socket.destroyed) return;
      started = true;
      if (request) void this.#run(socket, request, peer, trailer?.text);
    };
    const onData = (chunk: Buffer): void => {
      // Refused already: what the caller still sends is neither kept nor answered again.
      if (socket.writableEnded) return;
      if (request) {
        if (trailer && goSeen) {
          trailer.push(chunk);
          return;
        }
        // Waiting for the go-ahead: one byte, nothing else (X2DB3: its trailer may follow it).
        if (chunk[0] !== GO || (chunk.length !== 1 && !trailer)) {
          socket.off('data', onData);
          clearTimeout(timer);
          trailer?.fail('expected the go-ahead byte');
          this.#reject(socket, 'expected the go-ahead byte');
          return;
        }
        goSeen = true;
        go();
        trailer?.push(chunk.subarray(1));
        return;
      }
      pieces.push(chunk);
      received += chunk.length;
      if (received < 4) return;
      if (length === undefined) {
        length = Buffer.concat(pieces, received).readUInt32BE(0);
        if (length > MAX_REQUEST) {
          this.#reject(socket, `request of ${length} bytes, more than ${MAX_REQUEST}`);
          return;
        }
      }
      const end = 4 + length;
      if (received < end) return;
      const buffered = Buffer.concat(pieces, received);
      let parsed: ServiceRequest;
      try {
        parsed = decodeRequest(buffered.subarray(4, end));
      } catch (err) {
        this.#reject(socket, err instanceof ProtocolError ? err.message : String(err));
        return;
      }
      // Before the accept, only an X2DB2 request's go-ahead may follow it (X2DB3: and its trailer).
      const early = parsed.sentAtMs !== undefined;
      const after = buffered.subarray(end);
      if ((after.length > (early ? 1 : 0) && !parsed.trailer) || (after.length >= 1 && after[0] !== GO)) {
        this.#reject(socket, early ? 'bytes after the request and its go-ahead' : 'bytes after the request before its accept');
        return;
      }
      if (parsed.uid !== peer.uid) {
        // Someone who reached the socket (egid x2gouser) without our launcher, claiming another uid.
        this.#reject(socket, `uid ${parsed.uid} claimed by a caller whose uid is ${peer.uid} (pid ${peer.pid})`);
        return;
      }
      if (parsed.trailer && !takesTrailer(parsed.program)) {
        this.#reject(socket, `${parsed.program} takes no trailer`);
        return;
      }
      if (early) {
        // Its launcher gives up 5 s after sending it, and must not be answered by a run it gave up on.
        const age = monotonicMs() - (parsed.sentAtMs ?? 0);
        if (age > STALE_AFTER_MS) {
          // The service was too slow, not the caller wrong: unavailable, as the launcher's own 5 s.
          this.#reject(socket, `request read ${age} ms after it was sent (its launcher gives up at 5 s); not run`, EXIT_CODES.unavailable);
          return;
        }
        if (age < -1_000) {
          this.#reject(socket, `request dated ${-age} ms ahead of this host's clock; not run`);
          return;
        }
      }
      request = parsed;
      if (parsed.trailer) {
        // Whole or failed, nothing more is read: a caller cannot make the service keep its bytes.
        trailer = new TrailerFrame(MAX_REQUEST, READ_TIMEOUT_MS, () => socket.off('data', onData));
        goSeen = after.length >= 1;
        trailer.push(after.subarray(1));
      }
      this.#busy.add(socket);
      const status = request.program === STATUS_PROGRAM;
      const accept =
        status || readsOnly({ program: request.program, args: request.args, mayChooseConfig: false }) ? ACCEPT_READ : ACCEPT_WRITE;
      // An X2DB2 request's command starts once its accept has been handed to the kernel, so the
      // launcher sees it whatever happens to the service after that.
      socket.write(Buffer.of(accept), (err) => {
        if (!err && after.length >= 1) go();
      });
    };
    socket.on('data', onData);
  }

  /** Answers 'E' and one line, exit 2 (a bad request) unless told otherwise; nothing runs after it. */
  #reject(socket: Socket, reason: string, exitCode: number = EXIT_CODES.invalid): void {
    if (socket.destroyed) return;
    this.#counts.rejected++;
    this.observer?.rejected();
    this.#log.log('warning', `rejected a request: ${reason}`);
    socket.end(Buffer.concat([Buffer.of(REJECTED), encodeResponse(exitCode, '', `x2gosessiond: ${reason}\n`)]));
  }

  async #run(socket: Socket, request: ServiceRequest, peer: PeerCredentials, trailer?: Promise<string>): Promise<void> {
    if (request.program === STATUS_PROGRAM) {
      // Its pid and counters are the administrator's business (x2go-sessiondb status).
      const answer =
        peer.uid === 0
          ? encodeResponse(0, `${JSON.stringify(this.stats())}\n`, '')
          : encodeResponse(EXIT_CODES.denied, '', 'x2gosessiond: the service status is for root only\n');
      socket.end(answer, () => this.#busy.delete(socket));
      return;
    }
    this.#counts.inFlight++;
    const began = process.hrtime.bigint();
    let response: Response;
    try {
      const settings = this.#watch.current();
      // Authorized by the kernel's uid (equal to the request's, checked above).
      response = await this.#host.run(settings, peer.uid, request.program, request.args, trailer);
    } catch (err) {
      // The host answers every error itself; this is a bug, and must not end the service.
      this.#log.log('err', `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      response = { stdout: '', stderr: 'x2godb: internal error in the session service\n', exitCode: 1 };
    } finally {
      this.#counts.inFlight--;
    }
    this.#counts.requests++;
    this.observer?.answered(request.program, request.args, response.exitCode, Number(process.hrtime.bigint() - began) / 1e9);
    if (response.exitCode !== 0) this.#counts.failed++;
    if (response.exitCode === EXIT_CODES.unavailable) this.#counts.unavailable++;
    // The answer is written after the commit (dispatch resolves after it); a caller that went
    // away meanwhile does not undo it.
    // Busy until the answer is flushed: SIGTERM must not cut it off.
    if (!socket.destroyed) socket.end(encodeResponse(response.exitCode, response.stdout, response.stderr), () => this.#busy.delete(socket));
    this.#log.log('debug', `uid ${peer.uid} ${request.program} ${request.args[0] ?? ''}: exit ${response.exitCode}`);
  }

  /**
   * Stops accepting, lets requests in flight finish (bounded), closes the stores. Connections
   * with no request accepted are closed at once: their callers fall back to running the command
   * themselves, and a client that keeps an answered connection open cannot hold the service up.
   */
  async drain(): Promise<void> {
    this.#draining = true;
    this.#server.close();
    for (const socket of this.#connections) if (!this.#busy.has(socket)) socket.destroy();
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (this.#busy.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const socket of this.#connections) socket.destroy();
    await this.#host.close();
  }
}
