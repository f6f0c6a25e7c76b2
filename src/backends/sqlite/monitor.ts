// The farm as the resident service shows it (src/model/monitor.ts), on SQLite: one read-only
// connection of the service's main thread. In WAL mode reads never wait for a writer, and these
// are small indexed queries (a page of sessions, counts), so they do not hold up the thread.
// New events are found by polling the newest id of session_events every POLL_MS: every change
// of every writer (the service, helpers run without it, x2godbadmin) is one row there, written
// in the transaction of the change, so this feed misses none.

import type { SessionEvent, SessionEventKind } from '../../model/history.js';
import {
  NODE_TIMEOUT_SECONDS,
  SESSION_SORT_COLUMNS,
  sessionSummaryOf,
  type FarmMonitor,
  type FarmSnapshot,
  type HistoryBucket,
  type NodeRow,
  type SessionPage,
} from '../../model/monitor.js';
import { isRoot, mayActOn, storedUserName } from '../../model/ownership.js';
import { openDatabase, type Database } from './connection.js';

const POLL_MS = 200;

interface EventRow {
  id: number;
  at: string;
  session_id: string;
  uname: string;
  server: string;
  event: string;
  client: string | null;
  by_uid: number | null;
  node: string | null;
  detail: string | null;
}

function eventOf(r: EventRow): SessionEvent {
  return {
    id: r.id,
    at: `${r.at.replace(' ', 'T')}Z`,
    sessionId: r.session_id,
    uname: r.uname,
    server: r.server,
    event: r.event as SessionEventKind,
    client: r.client,
    byUid: r.by_uid,
    node: r.node,
    detail: r.detail,
  };
}

/** The tables of migration 0006, which a file the reference made has until --updatedb. */
interface Tables {
  nodes: boolean;
  events: boolean;
}

export function sqliteMonitor(path: string): FarmMonitor {
  let db: Database | undefined;
  let tables: Tables = { nodes: false, events: false };
  // Opened on first use, and again after a failure (the file may be replaced by --createdb --force).
  const use = <T>(work: (d: Database, t: Tables) => T): T => {
    db ??= openDatabase(path, { readonly: true, busyTimeoutMs: 20 });
    // Looked up until both are there (x2godbadmin --updatedb may add them while we run).
    if (!tables.nodes || !tables.events) {
      const names = new Set(
        (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name),
      );
      tables = { nodes: names.has('nodes'), events: names.has('session_events') };
    }
    try {
      return work(db, tables);
    } catch (err) {
      db.close();
      db = undefined;
      tables = { nodes: false, events: false };
      throw err;
    }
  };
  const monitor: FarmMonitor = {
    snapshot: async () =>
      use((d, t) => {
        // One statement, whatever the file holds: the parts of 0006's tables only when they exist.
        const parts = ["SELECT 'sessions' AS kind, server AS a, status AS b, count(*) AS n FROM sessions GROUP BY server, status"];
        const params: string[] = [];
        if (t.nodes) {
          parts.push(
            "SELECT 'node', CASE WHEN last_seen >= strftime('%Y-%m-%d %H:%M:%f', 'now', ?) THEN 'up' ELSE 'down' END, NULL, count(*) FROM nodes GROUP BY 2",
          );
          params.push(`-${NODE_TIMEOUT_SECONDS} seconds`);
        }
        if (t.events) parts.push("SELECT 'event', event, NULL, count(*) FROM session_events GROUP BY event");
        const rows = d.prepare(parts.join(' UNION ALL ')).all(...params) as { kind: string; a: string; b: string | null; n: number }[];
        const snap: FarmSnapshot = { sessions: [], nodes: { up: 0, down: 0 }, events: {} };
        for (const r of rows) {
          if (r.kind === 'sessions') snap.sessions.push({ server: r.a, status: r.b ?? '', count: r.n });
          else if (r.kind === 'node') snap.nodes[r.a === 'up' ? 'up' : 'down'] += r.n;
          else snap.events[r.a] = r.n;
        }
        return snap;
      }),
    nodes: async () =>
      use((d, t) =>
        !t.nodes
          ? []
          : (
              d
                .prepare(
                  `SELECT n.server, n.version, n.pid, n.started_at, n.last_seen, n.state,
                 n.last_seen >= strftime('%Y-%m-%d %H:%M:%f', 'now', ?) AS up,
                 (SELECT count(*) FROM sessions s WHERE s.server = n.server AND s.status <> 'F') AS sessions
               FROM nodes n ORDER BY n.server`,
                )
                .all(`-${NODE_TIMEOUT_SECONDS} seconds`) as Record<string, unknown>[]
            ).map(
              (r): NodeRow => ({
                server: String(r.server),
                version: String(r.version),
                pid: r.pid as number | null,
                startedAt: `${String(r.started_at).replace(' ', 'T')}Z`,
                lastSeen: `${String(r.last_seen).replace(' ', 'T')}Z`,
                up: r.up === 1,
                state: String(r.state),
                sessions: Number(r.sessions),
              }),
            ),
      ),
    sessions: async (q) =>
      use((d): SessionPage => {
        const where: string[] = [];
        const params: unknown[] = [];
        for (const [column, value] of [
          ['uname', q.uname],
          ['server', q.server],
          ['status', q.status],
        ] as const) {
          if (value === undefined) continue;
          where.push(`${column} = ?`);
          params.push(value);
        }
        const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
        const total = (d.prepare(`SELECT count(*) AS n FROM sessions ${clause}`).get(...params) as { n: number }).n;
        const order = `${SESSION_SORT_COLUMNS[q.sort]} ${q.descending ? 'DESC' : 'ASC'}, session_id`;
        const rows = d
          .prepare(
            `SELECT session_id, uname, server, status, display, client,
               strftime('%Y-%m-%dT%H:%M:%S', init_time) AS init_time, strftime('%Y-%m-%dT%H:%M:%S', last_time) AS last_time,
               strftime('%s', 'now', 'localtime') - strftime('%s', init_time) AS age
             FROM sessions ${clause} ORDER BY ${order} LIMIT ? OFFSET ?`,
          )
          .all(...params, q.limit, q.offset) as Record<string, unknown>[];
        return {
          total,
          rows: rows.map(sessionSummaryOf),
        };
      }),
    history: async (minutes) =>
      use((d, t) =>
        !t.events
          ? []
          : (d
              .prepare(
                `SELECT CAST(strftime('%s', at) AS integer) / 60 * 60 AS minute, event, count(*) AS count FROM session_events
               WHERE at >= strftime('%Y-%m-%d %H:%M:%f', 'now', ?) GROUP BY 1, 2 ORDER BY 1`,
              )
              .all(`-${minutes} minutes`) as HistoryBucket[]),
      ),
    statusCounts: async () =>
      use((d) =>
        Object.fromEntries(
          (d.prepare('SELECT status, count(*) AS n FROM sessions GROUP BY status').all() as { status: string; n: number }[]).map((r) => [
            r.status,
            r.n,
          ]),
        ),
      ),
    latestEventId: async () =>
      use((d, t) => (!t.events ? 0 : (d.prepare('SELECT coalesce(max(id), 0) AS id FROM session_events').get() as { id: number }).id)),
    eventIdsAfter: async (afterId, limit) =>
      use((d, t) =>
        !t.events
          ? []
          : (d.prepare('SELECT id FROM session_events WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as { id: number }[]).map(
              (r) => r.id,
            ),
      ),
    eventFor: async (id, caller) =>
      use((d, t) => {
        if (!t.events) return undefined;
        const row = d.prepare('SELECT * FROM session_events WHERE id = ?').get(id) as EventRow | undefined;
        if (!row) return undefined;
        // As PostgreSQL's policy: one's own name, or a session one may act on (a desktop one shares).
        const visible = isRoot(caller) || row.uname === storedUserName(caller) || mayActOn(caller, row.session_id);
        return visible ? eventOf(row) : undefined;
      }),
    subscribe: async (onId) => {
      let last = await monitor.latestEventId();
      let stopped = false;
      const poll = async () => {
        if (stopped) return;
        try {
          for (const id of await monitor.eventIdsAfter(last, 1000)) {
            last = id;
            onId(id);
          }
        } catch {
          // The file may be away for a moment (replaced, locked for recovery): the next poll tries again.
        }
        if (!stopped) timer = setTimeout(poll, POLL_MS);
      };
      let timer = setTimeout(poll, POLL_MS);
      return async () => {
        stopped = true;
        clearTimeout(timer);
      };
    },
    close: async () => {
      db?.close();
      db = undefined;
    },
  };
  return monitor;
}
