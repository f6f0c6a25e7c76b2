// The farm as the resident service shows it (src/model/monitor.ts), on PostgreSQL: a small pool
// of the service's login (x2gosessiond), each read in its own transaction after SET LOCAL ROLE:
// x2godbuser for root's view of the farm, the caller's own role for eventFor, so that row-level
// security, not our code, decides which event a user may read. New events arrive farm-wide by
// LISTEN on x2go_session_events, whose payload is only the new row's id (migration 0006).

import type { SessionEvent, SessionEventKind } from '../../model/history.js';
import {
  NODE_TIMEOUT_SECONDS,
  SESSION_SORT_COLUMNS,
  sessionSummaryOf,
  type FarmMonitor,
  type FarmSnapshot,
  type HistoryBucket,
  type NodeRow,
} from '../../model/monitor.js';
import type { Settings } from '../../model/backend.js';
import type { Caller } from '../../model/types.js';
import { connectPool, describeTarget, type Tx } from './connection.js';
import { liveServiceLogin } from './credentials.js';
import { mapPgError } from './errors.js';
import { ADMIN_ROLE, callerRole, quoteIdent } from './identifiers.js';
import type { PostgresSettings } from './settings.js';

/** Two connections for reads; LISTEN takes a third of its own (postgres.js). */
const POOL_SIZE = 2;
const CHANNEL = 'x2go_session_events';

const iso = (value: unknown): string => (value instanceof Date ? value.toISOString() : String(value));

export function postgresMonitor(settings: Settings<PostgresSettings>): FarmMonitor {
  const pg = settings.backend;
  const target = describeTarget(pg);
  const sql = connectPool(pg, liveServiceLogin(settings.configDir), POOL_SIZE);
  const as = async <T>(role: string, work: (tx: Tx) => Promise<T>): Promise<T> => {
    try {
      return (await sql.begin(async (tx) => {
        await tx.unsafe(`SET LOCAL ROLE ${quoteIdent(role)}`);
        return work(tx);
      })) as T;
    } catch (err) {
      throw mapPgError(err, 'read the farm', target);
    }
  };
  const root = <T>(work: (tx: Tx) => Promise<T>) => as(ADMIN_ROLE, work);
  const timeout = `${NODE_TIMEOUT_SECONDS} seconds`;
  return {
    snapshot: () =>
      root(async (tx) => {
        const rows = await tx.unsafe<{ kind: string; a: string; b: string | null; n: string }[]>(
          `SELECT 'sessions' AS kind, server AS a, status::text AS b, count(*) AS n FROM sessions GROUP BY server, status
           UNION ALL SELECT 'node', CASE WHEN last_seen >= now() - $1::interval THEN 'up' ELSE 'down' END, NULL, count(*) FROM nodes GROUP BY 2
           UNION ALL SELECT 'event', event, NULL, count(*) FROM session_events GROUP BY event`,
          [timeout],
        );
        const snap: FarmSnapshot = { sessions: [], nodes: { up: 0, down: 0 }, events: {} };
        for (const r of rows) {
          if (r.kind === 'sessions') snap.sessions.push({ server: r.a, status: r.b ?? '', count: Number(r.n) });
          else if (r.kind === 'node') snap.nodes[r.a === 'up' ? 'up' : 'down'] += Number(r.n);
          else snap.events[r.a] = Number(r.n);
        }
        return snap;
      }),
    nodes: () =>
      root(async (tx) =>
        (
          await tx.unsafe<Record<string, unknown>[]>(
            `SELECT n.server, n.version, n.pid, n.started_at, n.last_seen, n.state, n.last_seen >= now() - $1::interval AS up,
               (SELECT count(*) FROM sessions s WHERE s.server = n.server AND s.status <> 'F') AS sessions
             FROM nodes n ORDER BY n.server`,
            [timeout],
          )
        ).map(
          (r): NodeRow => ({
            server: String(r.server),
            version: String(r.version),
            pid: r.pid === null ? null : Number(r.pid),
            startedAt: iso(r.started_at),
            lastSeen: iso(r.last_seen),
            up: r.up === true,
            state: String(r.state),
            sessions: Number(r.sessions),
          }),
        ),
      ),
    sessions: (q) =>
      root(async (tx) => {
        const where: string[] = [];
        const params: unknown[] = [];
        for (const [column, value] of [
          ['uname', q.uname],
          ['server', q.server],
          ['status', q.status],
        ] as const) {
          if (value === undefined) continue;
          params.push(value);
          where.push(`${column} = $${params.length}`);
        }
        const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
        const order = `${SESSION_SORT_COLUMNS[q.sort]} ${q.descending ? 'DESC' : 'ASC'}, session_id`;
        const rows = await tx.unsafe<Record<string, unknown>[]>(
          `SELECT session_id, uname, server, status, display, client,
             to_char(init_time, 'YYYY-MM-DD"T"HH24:MI:SS') AS init_time, to_char(last_time, 'YYYY-MM-DD"T"HH24:MI:SS') AS last_time,
             extract(epoch FROM localtimestamp - init_time)::bigint AS age, count(*) OVER () AS total
           FROM sessions ${clause} ORDER BY ${order} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
          [...params, q.limit, q.offset] as never[],
        );
        let total = rows.length ? Number(rows[0]?.total) : 0;
        if (!rows.length && q.offset > 0) {
          const [count] = await tx.unsafe<{ n: string }[]>(`SELECT count(*) AS n FROM sessions ${clause}`, params as never[]);
          total = Number(count?.n ?? 0);
        }
        return {
          total,
          rows: rows.map(sessionSummaryOf),
        };
      }),
    history: (minutes) =>
      root(async (tx) =>
        (
          await tx.unsafe<{ minute: string; event: string; count: string }[]>(
            `SELECT (extract(epoch FROM date_trunc('minute', at)))::bigint AS minute, event, count(*) AS count FROM session_events
             WHERE at >= now() - $1::interval GROUP BY 1, 2 ORDER BY 1`,
            [`${minutes} minutes`],
          )
        ).map((r): HistoryBucket => ({ minute: Number(r.minute), event: r.event, count: Number(r.count) })),
      ),
    statusCounts: () =>
      root(async (tx) =>
        Object.fromEntries(
          (
            await tx.unsafe<{ status: string; n: string }[]>('SELECT status::text AS status, count(*) AS n FROM sessions GROUP BY status')
          ).map((r) => [r.status, Number(r.n)]),
        ),
      ),
    latestEventId: () =>
      root(async (tx) => Number((await tx.unsafe<{ id: string }[]>('SELECT coalesce(max(id), 0) AS id FROM session_events'))[0]?.id ?? 0)),
    eventIdsAfter: (afterId, limit) =>
      root(async (tx) =>
        (await tx.unsafe<{ id: string }[]>('SELECT id FROM session_events WHERE id > $1 ORDER BY id LIMIT $2', [afterId, limit])).map((r) =>
          Number(r.id),
        ),
      ),
    eventFor: (id: number, caller: Caller) =>
      as(callerRole(caller), async (tx): Promise<SessionEvent | undefined> => {
        const [r] = await tx.unsafe<Record<string, unknown>[]>(
          'SELECT id, at, session_id, uname, server, event, client, by_uid, node, detail FROM session_events WHERE id = $1',
          [id],
        );
        if (!r) return undefined;
        return {
          id: Number(r.id),
          at: iso(r.at),
          sessionId: String(r.session_id),
          uname: String(r.uname),
          server: String(r.server),
          event: String(r.event) as SessionEventKind,
          client: r.client === null ? null : String(r.client),
          byUid: r.by_uid === null ? null : Number(r.by_uid),
          node: r.node === null ? null : String(r.node),
          detail: r.detail === null ? null : String(r.detail),
        };
      }),
    subscribe: async (onId) => {
      try {
        // postgres.js listens on a connection of its own and LISTENs again after reconnecting.
        const listening = await sql.listen(CHANNEL, (payload) => {
          const id = Number(payload);
          if (Number.isSafeInteger(id) && id > 0) onId(id);
        });
        return async () => {
          await listening.unlisten();
        };
      } catch (err) {
        throw mapPgError(err, `LISTEN ${CHANNEL}`, target);
      }
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
