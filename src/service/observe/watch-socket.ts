// The watch socket: `x2go-sessiondb watch` connects here and gets session changes as they
// happen, one JSON line each. Every user may connect (mode 0666, outside the group-only socket
// directory): who is calling is the kernel's word (SO_PEERCRED), and each event is read as that
// caller (FarmMonitor.eventFor: row-level security on PostgreSQL, the ownership rule on SQLite),
// so a user gets only their own sessions' events whatever they ask for; root gets all.
//
// Protocol: the client sends one line of JSON within 5 s, {"user"?: name, "server"?: host}
// (filters; a user may name only themselves), at most 1 KiB. The service answers
// {"ready":true} once it is subscribed, then one line per event; {"error": "..."} and a close
// on a refused request. Nothing else is read from the client.

import { rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { FarmMonitor } from '../../model/monitor.js';
import { SessionDbError } from '../../model/errors.js';
import type { Caller } from '../../model/types.js';
import { parseServer } from '../../model/validate.js';
import { lookupUid } from '../../system/accounts.js';
import type { LogSink } from '../dispatch-host.js';
import { listenInPlace } from '../listen.js';
import { peerOf } from '../peer.js';
import type { ChangeFeed } from './feed.js';

const FIRST_LINE_MAX = 1024;
const FIRST_LINE_TIMEOUT_MS = 5_000;
/** One user cannot hold more watchers than this; nor everyone together more than MAX_WATCHERS. */
const MAX_PER_UID = 16;
const MAX_WATCHERS = 512;
/** A watcher that reads nothing while this much waits for it is cut off. */
const MAX_BUFFERED = 1 << 20;

export interface WatchFilter {
  user?: string;
  server?: string;
}

/** Validates what a watcher asks for; a user may name only themselves. */
export function parseWatchRequest(line: string, caller: Caller): WatchFilter {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new SessionDbError('invalid', 'the watch request is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new SessionDbError('invalid', 'the watch request is not an object');
  const filter: WatchFilter = {};
  for (const [key, value] of Object.entries(parsed)) {
    if ((key !== 'user' && key !== 'server') || typeof value !== 'string') {
      throw new SessionDbError('invalid', `the watch request has an unknown field or a value that is not text: ${key.slice(0, 40)}`);
    }
    filter[key] = value;
  }
  if (filter.server !== undefined) parseServer(filter.server);
  if (filter.user !== undefined && caller.uid !== 0 && filter.user !== caller.name) {
    throw new SessionDbError('denied', `${caller.name} may watch only their own sessions, not ${filter.user.slice(0, 100)}'s`);
  }
  return filter;
}

/**
 * Listens on `path` with mode 0666, put in place by rename; the directory must be the service's
 * own account's (or root's) and writable by its owner alone.
 */
async function listenOpen(server: Server, path: string): Promise<void> {
  const dir = dirname(path);
  const st = statSync(dir);
  const own = process.geteuid?.() ?? 0;
  if ((st.uid !== 0 && st.uid !== own) || ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0)) {
    throw new SessionDbError(
      'config',
      `${dir} (the watch socket's directory) must be the service's (or root's) and writable by its owner alone`,
    );
  }
  await listenInPlace(server, path, 0o666);
}

export class WatchSocket {
  readonly server: Server;
  readonly #feed: ChangeFeed;
  readonly #monitor: () => Promise<FarmMonitor>;
  readonly #log: LogSink;
  readonly #perUid = new Map<number, number>();
  readonly #sockets = new Set<Socket>();
  #path: string | undefined;

  constructor(feed: ChangeFeed, monitor: () => Promise<FarmMonitor>, log: LogSink) {
    this.#feed = feed;
    this.#monitor = monitor;
    this.#log = log;
    this.server = createServer((socket) => this.#accept(socket));
  }

  async listen(path: string): Promise<void> {
    await listenOpen(this.server, path);
    this.#path = path;
  }

  #accept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    let caller: Caller;
    try {
      const uid = peerOf(socket).uid;
      const account = lookupUid(uid);
      if (!account) throw new Error(`uid ${uid} has no account`);
      caller = { uid, name: account.name };
    } catch (err) {
      this.#log('warning', `watch: refused a connection: ${err instanceof Error ? err.message : String(err)}`);
      socket.destroy();
      return;
    }
    const held = this.#perUid.get(caller.uid) ?? 0;
    if (held >= MAX_PER_UID || this.#sockets.size >= MAX_WATCHERS) {
      socket.end(`${JSON.stringify({ error: `too many watchers (at most ${MAX_PER_UID} per user)` })}\n`);
      return;
    }
    this.#perUid.set(caller.uid, held + 1);
    this.#sockets.add(socket);
    let unsubscribe: (() => void) | undefined;
    socket.on('close', () => {
      this.#sockets.delete(socket);
      this.#perUid.set(caller.uid, (this.#perUid.get(caller.uid) ?? 1) - 1);
      unsubscribe?.();
    });
    const timer = setTimeout(() => socket.destroy(), FIRST_LINE_TIMEOUT_MS);
    let buffered = '';
    const refuse = (message: string) => socket.end(`${JSON.stringify({ error: message })}\n`);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline < 0) {
        if (buffered.length > FIRST_LINE_MAX) refuse('the watch request is too long');
        return;
      }
      socket.off('data', onData);
      clearTimeout(timer);
      // Nothing more is read from a watcher.
      socket.pause();
      let filter: WatchFilter;
      try {
        filter = parseWatchRequest(buffered.slice(0, newline), caller);
      } catch (err) {
        refuse(err instanceof Error ? err.message : String(err));
        return;
      }
      void this.#stream(socket, caller, filter).then((stop) => {
        unsubscribe = stop;
        if (socket.destroyed) stop();
      });
    };
    socket.on('data', onData);
  }

  async #stream(socket: Socket, caller: Caller, filter: WatchFilter): Promise<() => void> {
    // Events are read one after another, so each watcher gets them in the order they came.
    let chain = Promise.resolve();
    const stop = await this.#feed.add((id) => {
      chain = chain.then(async () => {
        if (socket.destroyed) return;
        let event: Awaited<ReturnType<FarmMonitor['eventFor']>>;
        try {
          event = await (await this.#monitor()).eventFor(id, caller);
        } catch (err) {
          this.#log('warning', `watch: cannot read event ${id}: ${err instanceof Error ? err.message : String(err)}`);
          return;
        }
        if (!event) return;
        if (filter.user !== undefined && event.uname !== filter.user) return;
        if (filter.server !== undefined && event.server !== filter.server) return;
        if (socket.writableLength > MAX_BUFFERED) {
          socket.destroy();
          return;
        }
        socket.write(`${JSON.stringify(event)}\n`);
      });
    });
    if (!socket.destroyed) socket.write(`${JSON.stringify({ ready: true })}\n`);
    return stop;
  }

  close(): void {
    this.server.close();
    for (const socket of this.#sockets) socket.destroy();
    if (this.#path) {
      rmSync(this.#path, { force: true });
      this.#path = undefined;
    }
  }
}
