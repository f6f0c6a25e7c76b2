// x2gosessiond's core: answers launcher requests on a Unix socket with the same dispatch the CLI
// runs (src/cli/dispatch.ts), on stores opened once (the backend's openShared).
//
// Who may connect is decided by the socket's mode (root:x2gouser 0660 in a directory only root
// writes): an ordinary user holds x2gouser only inside our setgid launcher, which sends the real
// uid it was started with. So the uid in a request is believed, and every request is then
// authorized exactly as the CLI would authorize that uid (and, on PostgreSQL, by the database
// after SET LOCAL ROLE).

import { statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { loadBackend, type SharedStores } from '../backends/backend.js';
import { loadSettings, serverConfigFile, type Settings } from '../config/config.js';
import { dispatch, readsOnly, type Environment, type Response } from '../cli/dispatch.js';
import { EXIT_CODES } from '../model/errors.js';
import { lookupUid } from '../system/accounts.js';
import type { Logger } from './log.js';
import {
  ACCEPT_READ, ACCEPT_WRITE, decodeRequest, encodeResponse, GO, MAX_REQUEST, ProtocolError, REJECTED,
  STATUS_PROGRAM, type ServiceRequest,
} from './protocol.js';

/** A caller has this long to send its request, and then its go-ahead. */
const READ_TIMEOUT_MS = 5_000;
const EXIT_UNAVAILABLE = EXIT_CODES.unavailable;
/** Stores of a replaced configuration are closed after this (a request takes at most 10 s). */
const RETIRE_AFTER_MS = 30_000;
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
  /** Malformed, oversized or too slow requests, closed without running anything. */
  rejected: number;
  inFlight: number;
  rssBytes: number;
}

/** The configuration files' identity: a change means the settings must be read again. */
function configStamp(settings: Settings): string {
  return [settings.sqlFile, serverConfigFile(settings.configDir)]
    .map((file) => {
      const st = statSync(file, { throwIfNoEntry: false });
      return st ? `${st.ino}:${st.mtimeMs}:${st.size}` : '-';
    })
    .join('/');
}

export class SessionService {
  #settings: Settings;
  #stamp: string;
  #log: Logger;
  readonly #server: Server;
  readonly #connections = new Set<Socket>();
  /** Connections from their accept byte to their answer: what SIGTERM waits for. */
  readonly #busy = new Set<Socket>();
  readonly #startedAt = new Date();
  #shared: Promise<SharedStores> | undefined;
  #counts = { requests: 0, failed: 0, unavailable: 0, rejected: 0, inFlight: 0 };
  #draining = false;

  /** The logger for a log level: settings read again may change the level. */
  readonly #makeLogger: (level: string) => Logger;

  constructor(settings: Settings, makeLogger: (level: string) => Logger) {
    this.#settings = settings;
    this.#stamp = configStamp(settings);
    this.#makeLogger = makeLogger;
    this.#log = makeLogger(settings.logLevel);
    this.#server = createServer({ allowHalfOpen: false }, (socket) => this.#accept(socket));
  }

  get server(): Server {
    return this.#server;
  }

  stats(): ServiceStats {
    return {
      pid: process.pid,
      backend: this.#settings.backend,
      startedAt: this.#startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.#startedAt.getTime()) / 1000),
      ...this.#counts,
      rssBytes: process.memoryUsage.rss(),
    };
  }

  /** Opened on first use, and again after a failed open (the database may come later). */
  #stores(): Promise<SharedStores> {
    this.#shared ??= loadBackend(this.#settings.backend)
      .then((backend) => backend.openShared(this.#settings))
      .catch((err: unknown) => {
        this.#shared = undefined;
        throw err;
      });
    return this.#shared;
  }

  /** Opens the stores now, so that the first caller does not wait; a failure is only logged. */
  async warm(): Promise<void> {
    try {
      await this.#stores();
    } catch (err) {
      this.#log.log('warning', `the session database is not ready yet: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * The configuration as it is now: edited files are read again (a broken edit keeps the last
   * good settings and is logged), and stores opened with the old settings are closed once the
   * requests using them are done.
   */
  #currentSettings(): Settings {
    const stamp = configStamp(this.#settings);
    if (stamp === this.#stamp) return this.#settings;
    this.#stamp = stamp;
    try {
      this.#settings = loadSettings(this.#settings.configDir);
    } catch (err) {
      this.#log.log('err', `configuration changed but cannot be used, keeping the previous one: ${err instanceof Error ? err.message : String(err)}`);
      return this.#settings;
    }
    this.#log = this.#makeLogger(this.#settings.logLevel);
    this.#log.log('notice', `configuration changed: backend ${this.#settings.backend}, reopening the session database`);
    const old = this.#shared;
    this.#shared = undefined;
    if (old) setTimeout(() => void old.then((s) => s.close()).catch(() => undefined), RETIRE_AFTER_MS).unref();
    return this.#settings;
  }

  readonly #environment: Environment = {
    // The service's configuration, whatever directory a request names (requests name none).
    settings: () => this.#currentSettings(),
    withStore: async (_settings, caller, work) => (await this.#stores()).withStore(caller, work),
  };

  #accept(socket: Socket): void {
    if (this.#draining) {
      socket.destroy();
      return;
    }
    this.#connections.add(socket);
    socket.on('close', () => {
      this.#connections.delete(socket);
      this.#busy.delete(socket);
    });
    socket.on('error', () => socket.destroy());

    let buffered = Buffer.alloc(0);
    let request: ServiceRequest | undefined;
    let started = false;
    // Timers run before the poll phase reads sockets: after the event loop was busy for a while
    // a request may be waiting unread. The check waits for setImmediate, which runs after it.
    const timer = setTimeout(
      () => setImmediate(() => !started && !socket.writableEnded && this.#reject(socket, 'request or go-ahead not in time')),
      READ_TIMEOUT_MS,
    );
    socket.on('close', () => clearTimeout(timer));

    const onData = (chunk: Buffer): void => {
      if (request) {
        // Waiting for the go-ahead: one byte, nothing else.
        socket.off('data', onData);
        clearTimeout(timer);
        if (chunk.length !== 1 || chunk[0] !== GO) {
          this.#reject(socket, 'expected the go-ahead byte');
          return;
        }
        started = true;
        void this.#run(socket, request);
        return;
      }
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4) return;
      const length = buffered.readUInt32BE(0);
      if (length > MAX_REQUEST) {
        this.#reject(socket, `request of ${length} bytes, more than ${MAX_REQUEST}`);
        return;
      }
      if (buffered.length < 4 + length) return;
      if (buffered.length > 4 + length) {
        this.#reject(socket, 'bytes after the request before its accept');
        return;
      }
      try {
        request = decodeRequest(buffered.subarray(4));
      } catch (err) {
        this.#reject(socket, err instanceof ProtocolError ? err.message : String(err));
        return;
      }
      buffered = Buffer.alloc(0);
      this.#busy.add(socket);
      const status = request.program === STATUS_PROGRAM;
      socket.write(Buffer.of(status || readsOnly(request.program, request.args) ? ACCEPT_READ : ACCEPT_WRITE));
    };
    socket.on('data', onData);
  }

  #reject(socket: Socket, reason: string): void {
    if (socket.destroyed) return;
    this.#counts.rejected++;
    this.#log.log('warning', `rejected a request: ${reason}`);
    socket.end(Buffer.concat([Buffer.of(REJECTED), encodeResponse(2, '', `x2gosessiond: ${reason}\n`)]));
  }

  async #run(socket: Socket, request: ServiceRequest): Promise<void> {
    if (request.program === STATUS_PROGRAM) {
      socket.end(encodeResponse(0, `${JSON.stringify(this.stats())}\n`, ''), () => this.#busy.delete(socket));
      return;
    }
    this.#counts.inFlight++;
    let response: Response;
    try {
      response = await this.#answer(request);
    } catch (err) {
      // dispatch answers every error itself; this is a bug, and must not end the service.
      this.#log.log('err', `internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      response = { stdout: '', stderr: 'x2godb: internal error in the session service\n', exitCode: 1 };
    } finally {
      this.#counts.inFlight--;
    }
    this.#counts.requests++;
    if (response.exitCode !== 0) this.#counts.failed++;
    // The answer is written after the commit (dispatch resolves after it); a caller that went
    // away meanwhile does not undo it.
    // Busy until the answer is flushed: SIGTERM must not cut it off.
    if (!socket.destroyed) socket.end(encodeResponse(response.exitCode, response.stdout, response.stderr), () => this.#busy.delete(socket));
    this.#log.log('debug', `uid ${request.uid} ${request.program} ${request.args[0] ?? ''}: exit ${response.exitCode}`);
  }

  async #answer(request: ServiceRequest): Promise<Response> {
    const account = lookupUid(request.uid);
    if (!account) {
      this.#log.log('warning', `request from uid ${request.uid}, which has no account`);
      return { stdout: '', stderr: `x2godb: uid ${request.uid} has no user account\n`, exitCode: 1 };
    }
    const response = await dispatch(
      {
        caller: { uid: request.uid, name: account.name },
        program: request.program,
        args: request.args,
        configDir: this.#settings.configDir,
        mayChooseConfig: false,
      },
      this.#environment,
    );
    if (response.exitCode === EXIT_UNAVAILABLE || response.stderr.includes('internal error')) {
      if (response.exitCode === EXIT_UNAVAILABLE) this.#counts.unavailable++;
      this.#log.log('err', response.stderr.trim());
    }
    return response;
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
    const shared = await this.#shared?.catch(() => undefined);
    await shared?.close();
  }
}
