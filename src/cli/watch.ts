// x2go-sessiondb watch [--json] [--user U] [--server S] [--socket PATH]: session changes as
// they happen, one line each, from the resident service's watch socket (src/service/observe/
// watch-socket.ts: PostgreSQL LISTEN/NOTIFY across the farm, SQLite's change feed on this
// server). Any user may run it and sees only their own sessions' changes; root sees all. The
// service decides that by the kernel's word on who connected, not by what this program sends.

import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import type { SessionEvent } from '../model/history.js';
import { shown } from '../model/validate.js';
import { DEFAULT_WATCH_SOCKET } from '../service/observe/settings.js';
import { writeAll } from './write-out.js';

export const WATCH_USAGE = `usage: x2go-sessiondb watch [--json] [--user NAME] [--server HOST] [--socket PATH]
  prints each session change as it happens, one line each, until interrupted:
  time event user session server=... [client=...] [node=...]  (--json: the event as JSON)
  users see their own sessions only; root sees every session of the farm.
  --socket: the service's watch socket (default ${DEFAULT_WATCH_SOCKET})
`;

/** One event as a line of text; every value escaped, as the listings escape rows. */
export function eventLine(e: SessionEvent): string {
  const parts = [e.at, e.event, shown(e.uname), shown(e.sessionId), `server=${shown(e.server)}`];
  if (e.client) parts.push(`client=${shown(e.client)}`);
  if (e.node) parts.push(`node=${shown(e.node)}`);
  if (e.detail) parts.push(`detail=${shown(e.detail)}`);
  return parts.join(' ');
}

/** Runs until the service closes the stream (exit 4) or a signal ends it. */
export function watch(argv: string[]): Promise<number> {
  let values: { json?: boolean; user?: string; server?: string; socket?: string; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        json: { type: 'boolean' },
        user: { type: 'string' },
        server: { type: 'string' },
        socket: { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    writeAll(2, `x2go-sessiondb watch: ${err instanceof Error ? err.message : String(err)}\n${WATCH_USAGE}`);
    return Promise.resolve(2);
  }
  if (values.help) {
    writeAll(1, WATCH_USAGE);
    return Promise.resolve(0);
  }
  const path = values.socket ?? DEFAULT_WATCH_SOCKET;
  const request: Record<string, string> = {};
  if (values.user !== undefined) request.user = values.user;
  if (values.server !== undefined) request.server = values.server;
  return new Promise((resolve) => {
    const socket = connect(path);
    let buffered = '';
    let code: number | undefined;
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      writeAll(
        2,
        `x2go-sessiondb watch: cannot reach the session service at ${path}: ${err.code ?? err.message}; is x2gosessiond running?\n`,
      );
      code = 4;
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        const message = JSON.parse(line) as Partial<SessionEvent> & { error?: string; ready?: boolean };
        if (message.error !== undefined) {
          writeAll(2, `x2go-sessiondb watch: ${message.error}\n`);
          code = /may watch only/.test(message.error) ? 3 : 2;
        } else if (message.ready) {
          // Subscribed: from here on no change is missed. Said on stderr (to a terminal, or when
          // X2GO_WATCH_READY=1 asks, for scripts that wait for it).
          if (process.stderr.isTTY || process.env.X2GO_WATCH_READY === '1') writeAll(2, 'watching (Ctrl-C to stop)\n');
        } else writeAll(1, `${values.json ? JSON.stringify(message) : eventLine(message as SessionEvent)}\n`);
      }
    });
    socket.on('close', () => {
      if (code === undefined) writeAll(2, 'x2go-sessiondb watch: the session service closed the stream\n');
      resolve(code ?? 4);
    });
  });
}
