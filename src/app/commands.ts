// The commands of the reference's libx2go-server-db-sqlite3-wrapper, with their arguments in
// the reference's order. Each command first validates all of its arguments (so bad input is
// refused before the database is even opened) and returns the work to do with a SessionDb.

import type { SessionDb } from '../model/session-db.js';
import type { RootListing } from '../model/stored-rows.js';
import type { SessionEndpoint, SessionRow } from '../model/types.js';
import {
  MAX_PORTS_PER_SESSION,
  parseClient,
  parseCookie,
  parseCount,
  parseDisplay,
  parseMountPath,
  parseNumberList,
  parseOptionalPort,
  parsePid,
  parsePort,
  parseServer,
  parseSessionId,
  parseSessionSuffix,
  parseStatus,
  parseUserName,
} from '../model/validate.js';
import { none, ok, type Listing, type Output } from './format.js';
import { parseHistoryOptions } from './history-options.js';
import { MAX_HISTORY_DAYS } from '../model/history.js';

export type Work = (db: SessionDb) => Promise<Output>;

export interface CommandSpec {
  /** Arguments as the usage line shows them: <required> and [optional]. */
  usage: string;
  /** Shown in --help; SessionDb enforces it. */
  rootOnly?: boolean;
  /** Changes nothing: the resident service's launcher may safely run it again itself. */
  readOnly?: boolean;
  /** Its work is one store call that writes: a backend may commit with that call's last statement. */
  oneStoreCall?: boolean;
  /** Validates the arguments (throws 'invalid') and returns the work. */
  prepare(args: readonly string[]): Work;
  /** How many arguments, when the usage line's brackets do not say it (options with values). */
  arity?: { min: number; max: number };
}

function sessions(listing: Listing): (rows: SessionRow[]) => Output {
  return (rows) => ({ kind: 'sessions', listing, rows });
}

/** A root listing: the rows fit for root's scripts; a line on stderr for each one left out. */
export function rootSessions(listing: RootListing): Output {
  return { kind: 'sessions', listing: 'root', rows: listing.rows, notes: listing.refused };
}

/** A change that completed prints "ok", as the reference's wrapper does. */
function done(change: Promise<void>): Promise<Output> {
  return change.then(() => ok);
}

/** Reads the five ports of a start or resume, in the reference's argument order. */
function endpoint(client: string, ports: readonly string[], teki: readonly [string, string]): SessionEndpoint {
  return {
    client: parseClient(client),
    grPort: parsePort(ports[0] ?? '', 'gr_port'),
    soundPort: parsePort(ports[1] ?? '', 'snd_port'),
    fsPort: parsePort(ports[2] ?? '', 'fs_port'),
    tekictrlPort: parseOptionalPort(teki[0], 'tekictrl_port'),
    tekidataPort: parseOptionalPort(teki[1], 'tekidata_port'),
  };
}

// Arguments are indexed after the arity check in dispatch, so `a[i]!` below always exists.
export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  listsessions: {
    readOnly: true,
    usage: '<server>',
    prepare: (a) => {
      const server = parseServer(a[0]!);
      return (db) => db.listsessions(server).then(sessions('sessions'));
    },
  },
  listsessions_all: {
    readOnly: true,
    usage: '',
    prepare: () => (db) => db.listsessions_all().then(sessions('sessions')),
  },
  listshadowsessions: {
    readOnly: true,
    usage: '<server>',
    prepare: (a) => {
      const server = parseServer(a[0]!);
      return (db) => db.listshadowsessions(server).then(sessions('shadow'));
    },
  },
  listshadowsessions_all: {
    readOnly: true,
    usage: '',
    prepare: () => (db) => db.listshadowsessions_all().then(sessions('shadow')),
  },
  listsessionsroot: {
    readOnly: true,
    usage: '<server>',
    rootOnly: true,
    prepare: (a) => {
      const server = parseServer(a[0]!);
      return (db) => db.listsessionsroot(server).then(rootSessions);
    },
  },
  listsessionsroot_all: {
    readOnly: true,
    usage: '',
    rootOnly: true,
    prepare: () => (db) => db.listsessionsroot_all().then(rootSessions),
  },
  insertsession: {
    oneStoreCall: true,
    usage: '<display> <server> <session_id>',
    prepare: (a) => {
      const [display, server, sid] = [parseDisplay(a[0]!), parseServer(a[1]!), parseSessionId(a[2]!)];
      return (db) => done(db.insertsession(display, server, sid));
    },
  },
  insertshadowsession: {
    oneStoreCall: true,
    usage: '<display> <server> <session_id> <shadreq_user>',
    prepare: (a) => {
      const [display, server, sid] = [parseDisplay(a[0]!), parseServer(a[1]!), parseSessionId(a[2]!)];
      const viewer = parseUserName(a[3]!, 'shadreq_user');
      return (db) => done(db.insertshadowsession(display, server, sid, viewer));
    },
  },
  createsession: {
    oneStoreCall: true,
    usage: '<session_id> <cookie> <pid> <client> <gr_port> <snd_port> <fs_port> <tekictrl_port> <tekidata_port>',
    prepare: (a) => {
      const [sid, cookie, pid] = [parseSessionId(a[0]!), parseCookie(a[1]!), parsePid(a[2]!)];
      const e = endpoint(a[3]!, a.slice(4, 7), [a[7]!, a[8]!]);
      return (db) => done(db.createsession(sid, cookie, pid, e));
    },
  },
  createshadowsession: {
    oneStoreCall: true,
    usage: '<session_id> <cookie> <pid> <client> <gr_port> <snd_port> <fs_port> <shadreq_user>',
    prepare: (a) => {
      const [sid, cookie, pid] = [parseSessionId(a[0]!), parseCookie(a[1]!), parsePid(a[2]!)];
      const e = endpoint(a[3]!, a.slice(4, 7), ['-1', '-1']);
      const viewer = parseUserName(a[7]!, 'shadreq_user');
      return (db) => done(db.createshadowsession(sid, cookie, pid, e, viewer));
    },
  },
  insertport: {
    oneStoreCall: true,
    usage: '<server> <session_id> <port>',
    prepare: (a) => {
      const [server, sid, port] = [parseServer(a[0]!), parseSessionId(a[1]!), parsePort(a[2]!)];
      return (db) => done(db.insertport(server, sid, port));
    },
  },
  rmport: {
    oneStoreCall: true,
    usage: '<server> <session_id> <port>',
    prepare: (a) => {
      const [server, sid, port] = [parseServer(a[0]!), parseSessionId(a[1]!), parsePort(a[2]!)];
      return (db) => done(db.rmport(server, sid, port));
    },
  },
  resume: {
    oneStoreCall: true,
    usage: '<client> <session_id> <gr_port> <snd_port> <fs_port> <tekictrl_port> <tekidata_port>',
    prepare: (a) => {
      const sid = parseSessionId(a[1]!);
      const e = endpoint(a[0]!, a.slice(2, 5), [a[5]!, a[6]!]);
      return (db) => done(db.resume(sid, e));
    },
  },
  // Ours, not the reference's: display, ports and session row in one step (x2gostartagent's loops).
  reservesession: {
    oneStoreCall: true,
    usage: '<server> <session_suffix> <display_start> <port_count> <port_start> [busy_displays] [busy_ports]',
    prepare: (a) => {
      const request = {
        server: parseServer(a[0]!),
        suffix: parseSessionSuffix(a[1]!),
        displayStart: parseDisplay(a[2]!, 'display_start'),
        portCount: parseCount(a[3]!, 'port_count', MAX_PORTS_PER_SESSION),
        portStart: parsePort(a[4]!, 'port_start'),
        busyDisplays: parseNumberList(a[5] ?? '', 'busy_displays', parseDisplay),
        busyPorts: parseNumberList(a[6] ?? '', 'busy_ports', parsePort),
      };
      return async (db) => ({ kind: 'reserved', reserved: await db.reservesession(request) });
    },
  },
  changestatus: {
    oneStoreCall: true,
    usage: '<status> <session_id>',
    prepare: (a) => {
      const [status, sid] = [parseStatus(a[0]!), parseSessionId(a[1]!)];
      return (db) => done(db.changestatus(status, sid));
    },
  },
  getstatus: {
    readOnly: true,
    usage: '<session_id>',
    prepare: (a) => {
      const sid = parseSessionId(a[0]!);
      return async (db) => ({ kind: 'value', value: await db.getstatus(sid) });
    },
  },
  getagent: {
    readOnly: true,
    usage: '<session_id>',
    prepare: (a) => {
      const sid = parseSessionId(a[0]!);
      return async (db) => ({ kind: 'value', value: await db.getagent(sid) });
    },
  },
  getdisplay: {
    readOnly: true,
    usage: '<session_id>',
    prepare: (a) => {
      const sid = parseSessionId(a[0]!);
      return async (db) => ({ kind: 'value', value: await db.getdisplay(sid) });
    },
  },
  getdisplays: {
    readOnly: true,
    usage: '<server>',
    prepare: (a) => {
      const server = parseServer(a[0]!);
      return async (db) => ({ kind: 'numbers', values: await db.getdisplays(server) });
    },
  },
  getports: {
    readOnly: true,
    usage: '<server>',
    prepare: (a) => {
      const server = parseServer(a[0]!);
      return async (db) => ({ kind: 'numbers', values: await db.getports(server) });
    },
  },
  getservers: {
    readOnly: true,
    usage: '',
    prepare: () => async (db) => ({ kind: 'servers', servers: await db.getservers() }),
  },
  insertmount: {
    oneStoreCall: true,
    usage: '<session_id> <path> <client>',
    prepare: (a) => {
      const [sid, path, client] = [parseSessionId(a[0]!), parseMountPath(a[1]!), parseClient(a[2]!)];
      return async (db) => ((await db.insertmount(sid, path, client)) ? ok : none);
    },
  },
  deletemount: {
    oneStoreCall: true,
    usage: '<session_id> <path>',
    prepare: (a) => {
      const [sid, path] = [parseSessionId(a[0]!), parseMountPath(a[1]!)];
      return (db) => done(db.deletemount(sid, path));
    },
  },
  getmounts: {
    readOnly: true,
    usage: '<session_id>',
    prepare: (a) => {
      const sid = parseSessionId(a[0]!);
      return async (db) => ({ kind: 'mounts', mounts: await db.getmounts(sid) });
    },
  },
  // Ours: the history of the caller's sessions (root: everyone's, or --user's).
  history: {
    readOnly: true,
    usage: '[--user=U] [--server=S] [--since=T]',
    arity: { min: 0, max: 6 },
    prepare: (a) => {
      const filter = parseHistoryOptions(a);
      return async (db) => ({ kind: 'events', events: await db.history(filter) });
    },
  },
  // Ours: history retention, run by x2gosessiond with [sessiond] history_days=; prints how many went.
  prunehistory: {
    oneStoreCall: true,
    usage: '<days>',
    rootOnly: true,
    prepare: (a) => {
      const days = parseCount(a[0]!, 'days', MAX_HISTORY_DAYS);
      return async (db) => ({ kind: 'value', value: await db.prunehistory(days) });
    },
  },
  rmsessionsroot: {
    oneStoreCall: true,
    usage: '<session_id>',
    rootOnly: true,
    prepare: (a) => {
      const sid = parseSessionId(a[0]!);
      return (db) => done(db.rmsessionsroot(sid));
    },
  },
  deletemounts: {
    oneStoreCall: true,
    usage: '<session_id>',
    rootOnly: true,
    prepare: (a) => {
      const sid = parseSessionId(a[0]!);
      return (db) => done(db.deletemounts(sid));
    },
  },
};

/** How many arguments a usage line takes: <required> ones and [optional] ones. */
export function arity(usage: string): { min: number; max: number } {
  const required = usage.match(/<[^>]+>/g)?.length ?? 0;
  const optional = usage.match(/\[[^\]]+\]/g)?.length ?? 0;
  return { min: required, max: required + optional };
}
