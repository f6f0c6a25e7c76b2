// What the resident service reads to show the farm (metrics, dashboard, watch): the backend
// contract's monitoring part. Each backend answers it in its own SQL (src/backends/*/monitor.ts);
// the service's observe/ code knows no backend. Everything here is root's view of the database,
// except eventFor, which reads one event as a given caller sees it (row-level security on
// PostgreSQL, the ownership rule on SQLite).

import type { SessionEvent } from './history.js';
import type { Caller } from './types.js';

/** One figure of the farm snapshot: sessions per server and status. */
export interface SessionCount {
  server: string;
  status: string;
  count: number;
}

export interface NodeRow {
  server: string;
  version: string;
  pid: number | null;
  startedAt: string;
  lastSeen: string;
  /** Derived from last_seen: seen within the node timeout. */
  up: boolean;
  state: string;
  /** Sessions on that server that are not finished (F). */
  sessions: number;
}

/** What the metrics endpoint reads from the database, in one query per refresh. */
export interface FarmSnapshot {
  sessions: SessionCount[];
  nodes: { up: number; down: number };
  /** History events by kind, all time (retention pruning may lower them). */
  events: Record<string, number>;
}

export const SESSION_SORT_KEYS = ['uname', 'server', 'status', 'display', 'client', 'init_time', 'last_time'] as const;
export type SessionSortKey = (typeof SESSION_SORT_KEYS)[number];

/**
 * The column each sort key orders by: the same name in both backends' sessions table. Only these
 * constants reach the SQL text.
 */
export const SESSION_SORT_COLUMNS: Record<SessionSortKey, string> = {
  uname: 'uname',
  server: 'server',
  status: 'status',
  display: 'display',
  client: 'client',
  init_time: 'init_time',
  last_time: 'last_time',
};

export interface SessionQuery {
  uname?: string | undefined;
  server?: string | undefined;
  status?: string | undefined;
  sort: SessionSortKey;
  descending: boolean;
  offset: number;
  limit: number;
}

/** A session as the dashboard shows it: never its cookie, agent pid or ports. */
export interface SessionSummary {
  sessionId: string;
  uname: string;
  server: string;
  status: string;
  display: number;
  client: string | null;
  /** Local time, as stored. */
  initTime: string;
  lastTime: string;
  ageSeconds: number;
}

/** A sessions page's row, as both backends select it (times as text, age in seconds). */
export function sessionSummaryOf(r: Record<string, unknown>): SessionSummary {
  return {
    sessionId: String(r.session_id),
    uname: String(r.uname),
    server: String(r.server),
    status: String(r.status),
    display: Number(r.display),
    client: r.client === null ? null : String(r.client),
    initTime: String(r.init_time),
    lastTime: String(r.last_time),
    ageSeconds: Number(r.age),
  };
}

export interface SessionPage {
  total: number;
  rows: SessionSummary[];
}

/** Events per minute bucket over a window, for the plots. */
export interface HistoryBucket {
  /** Unix seconds of the minute's start (UTC). */
  minute: number;
  event: string;
  count: number;
}

export interface FarmMonitor {
  snapshot(): Promise<FarmSnapshot>;
  nodes(): Promise<NodeRow[]>;
  sessions(query: SessionQuery): Promise<SessionPage>;
  /** History events of the last `minutes`, counted per minute and kind. */
  history(minutes: number): Promise<HistoryBucket[]>;
  /** Sessions per status now (the plots' starting point, walked back with the history). */
  statusCounts(): Promise<Record<string, number>>;
  /** The newest event id (0 with none). */
  latestEventId(): Promise<number>;
  /** Event ids after `afterId`, oldest first, at most `limit` (root's view). */
  eventIdsAfter(afterId: number, limit: number): Promise<number[]>;
  /** One event as `caller` may see it; undefined when not theirs (or gone). */
  eventFor(id: number, caller: Caller): Promise<SessionEvent | undefined>;
  /**
   * Calls `onId` with each new event id as it is committed, farm-wide where the backend can
   * (PostgreSQL LISTEN/NOTIFY), else from this node's database (SQLite). Resolves to a stop.
   */
  subscribe(onId: (id: number) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** A node not seen for this long is down (the nodes table's heartbeat; issue 12 may make it a setting). */
export const NODE_TIMEOUT_SECONDS = 60;
