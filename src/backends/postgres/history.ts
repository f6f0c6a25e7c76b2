// The history of sessions on PostgreSQL (table session_events, migration 0006). Events are
// written in the same transaction (or the same statement) as the change they describe; row-level
// security lets a user's role read only the events of its own sessions and append only the
// kinds its own helpers cause, for sessions it may create. Root's role (x2godbuser) reads and
// prunes everything.
//
// recordSessionEvent is also the way for code outside the store (dead-node cleanup, expiry,
// doctor --fix, running as root's role) to record 'cleaned', 'expired' or 'fixed' inside its
// own transaction: pass it that transaction.

import type { EventActor, EventFilter, NewSessionEvent, SessionEvent, SessionEventKind } from '../../model/history.js';
import type { Sql } from './connection.js';

/** Appends one event; call it with the transaction of the change it describes. */
export async function recordSessionEvent(sql: Sql, e: NewSessionEvent): Promise<void> {
  await sql`insert into session_events (session_id, uname, server, event, client, by_uid, node, detail)
    values (${e.sessionId}, ${e.uname}, ${e.server}, ${e.event}, ${e.client ?? null}::text, ${e.by.uid}::int,
      ${e.by.node}::text, ${e.detail ?? null}::text)`;
}

/**
 * The event columns after session_id, uname, server, for an insert ... select from a session row
 * (a CTE's returning, or the sessions table): the kind, client, who, where, detail. Values bound.
 */
export function eventValues(sql: Sql, event: SessionEventKind, by: EventActor | undefined, client?: string | null, detail?: string | null) {
  return sql`${event}::text, ${client ?? null}::text, ${by?.uid ?? null}::int, ${by?.node ?? null}::text, ${detail ?? null}::text`;
}

export const EVENT_COLUMNS = 'session_id, uname, server, event, client, by_uid, node, detail';

export async function readEvents(sql: Sql, filter: EventFilter): Promise<SessionEvent[]> {
  const none = sql``;
  const rows = await sql`select id, to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at, session_id, uname,
      server, event, client, by_uid, node, detail
    from session_events where true
    ${filter.uname === undefined ? none : sql`and uname = ${filter.uname}`}
    ${filter.server === undefined ? none : sql`and server = ${filter.server}`}
    ${filter.since === undefined ? none : sql`and at >= ${filter.since.toISOString()}::timestamptz`}
    order by at, id`;
  return rows.map((r) => ({
    id: Number(r.id),
    at: String(r.at),
    sessionId: String(r.session_id),
    uname: String(r.uname),
    server: String(r.server),
    event: r.event as SessionEventKind,
    client: (r.client as string | null) ?? null,
    byUid: r.by_uid === null ? null : Number(r.by_uid),
    node: (r.node as string | null) ?? null,
    detail: (r.detail as string | null) ?? null,
  }));
}

export async function pruneEvents(sql: Sql, before: Date): Promise<number> {
  return (await sql`delete from session_events where at < ${before.toISOString()}::timestamptz`).count;
}
