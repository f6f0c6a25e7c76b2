// The history of sessions on SQLite (table session_events, migration 0006): written inside the
// caller's write transaction (BEGIN IMMEDIATE), so the change and its event commit together or
// not at all. Who may read which events is decided by SessionDb (the file is root's and the
// service's; users reach it only through our programs).
//
// A file the reference made (or an older one of ours) has no session_events until
// x2godbadmin --updatedb (which x2go-sessiondb install runs) adds it, and our helpers keep
// working on such a file as before: its history starts with that migration. Every write checks
// (one lookup in the schema, already read by the transaction), so a migration made while the
// service holds the file open takes effect at once.
//
// recordSessionEvent is also the way for code outside the store (dead-node cleanup, expiry,
// doctor --fix) to record 'cleaned', 'expired' or 'fixed' inside its own transaction.

import type { EventActor, EventFilter, NewSessionEvent, SessionEvent, SessionEventKind } from '../../model/history.js';
import type { Database } from './connection.js';

/** Times as the table stores them: UTC, milliseconds, ordered as text. */
function storedTime(at: Date): string {
  return at.toISOString().replace('T', ' ').replace('Z', '');
}

/** Whether the file holds the history (migration 0006). */
export function hasHistory(db: Database): boolean {
  return db.prepare("select 1 from sqlite_master where type = 'table' and name = 'session_events'").get() !== undefined;
}

/** Appends one event; call it inside the transaction of the change it describes. */
export function recordSessionEvent(db: Database, e: NewSessionEvent): void {
  if (!hasHistory(db)) return;
  db.prepare(
    `insert into session_events (session_id, uname, server, event, client, by_uid, node, detail)
     values (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(e.sessionId, e.uname, e.server, e.event, e.client ?? null, e.by.uid, e.by.node, e.detail ?? null);
}

/**
 * Appends the event of the session row `sessionId` (uname and server as the row has them; the
 * client given, or the row's): before a delete, or after an update in the same transaction.
 * Returns how many events were written (0 when there is no such row).
 */
export function recordRowEvent(
  db: Database,
  sessionId: string,
  event: SessionEventKind,
  by: EventActor | undefined,
  extra: { client?: string | null; detail?: string | null } = {},
): number {
  if (!hasHistory(db)) return 0;
  return db
    .prepare(
      `insert into session_events (session_id, uname, server, event, client, by_uid, node, detail)
       select session_id, uname, server, ?, ?, ?, ?, ? from sessions where session_id = ?`,
    )
    .run(event, extra.client ?? null, by?.uid ?? null, by?.node ?? null, extra.detail ?? null, sessionId).changes;
}

type EventRow = [number, string, string, string, string, SessionEventKind, string | null, number | null, string | null, string | null];

export function readEvents(db: Database, filter: EventFilter): SessionEvent[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.uname !== undefined) {
    where.push('uname = ?');
    params.push(filter.uname);
  }
  if (filter.server !== undefined) {
    where.push('server = ?');
    params.push(filter.server);
  }
  if (filter.since !== undefined) {
    where.push('at >= ?');
    params.push(storedTime(filter.since));
  }
  const rows = db
    .prepare(
      `select id, at, session_id, uname, server, event, client, by_uid, node, detail from session_events
       ${where.length ? `where ${where.join(' and ')}` : ''} order by at, id`,
    )
    .raw()
    .all(...params) as EventRow[];
  return rows.map(([id, at, sessionId, uname, server, event, client, byUid, node, detail]) => ({
    id,
    at: `${at.replace(' ', 'T')}Z`,
    sessionId,
    uname,
    server,
    event,
    client,
    byUid,
    node,
    detail,
  }));
}

export function pruneEvents(db: Database, before: Date): number {
  if (!hasHistory(db)) return 0;
  return db.prepare('delete from session_events where at < ?').run(storedTime(before)).changes;
}
