// The history of sessions (table session_events, migration 0006 on both backends): what happened
// to a session, when, by whom (uid) and on which node. Each event is written in the same
// transaction as the change it describes, so the history never misses a change.

/** In the order a session lives them; the last three are causes outside the session's own helpers. */
export const SESSION_EVENT_KINDS = [
  'created',
  'started',
  'suspended',
  'resumed',
  'finished',
  'purged',
  /** Terminated by [sessiond] suspended_max_age. */
  'expired',
  /** Closed by a live node after its own node went down. */
  'cleaned',
  /** Repaired by x2go-sessiondb doctor --fix. */
  'fixed',
] as const;

export type SessionEventKind = (typeof SESSION_EVENT_KINDS)[number];

export interface SessionEvent {
  id: number;
  /** ISO 8601, UTC. */
  at: string;
  sessionId: string;
  uname: string;
  server: string;
  event: SessionEventKind;
  /** The client address, for created, started and resumed. */
  client: string | null;
  byUid: number | null;
  /** The host name of the node that wrote the event. */
  node: string | null;
  detail: string | null;
}

/** Who wrote an event: the caller's uid as the model knows it, and this host's name. */
export interface EventActor {
  uid: number;
  node: string;
}

/** An event as a store writes it, inside the transaction of the change it describes. */
export interface NewSessionEvent {
  sessionId: string;
  uname: string;
  server: string;
  event: SessionEventKind;
  client?: string | null;
  detail?: string | null;
  by: EventActor;
}

/** Which events a history read returns, oldest first. */
export interface EventFilter {
  /** Only the events of sessions stored under this user name; everyone's when undefined (root). */
  uname?: string;
  server?: string;
  /** Only events at or after this moment. */
  since?: Date;
}

/**
 * The event a status change records: suspended (S), finished (F), resumed (R, as a client
 * reconnecting through changestatus). T (terminating, which x2goserver's scripts do not set
 * today) is recorded as finished, with the status in `detail` so the two can be told apart.
 */
export function statusEvent(status: 'R' | 'S' | 'T' | 'F'): { event: SessionEventKind; detail: string | null } {
  switch (status) {
    case 'S':
      return { event: 'suspended', detail: null };
    case 'F':
      return { event: 'finished', detail: null };
    case 'R':
      return { event: 'resumed', detail: 'status R' };
    case 'T':
      return { event: 'finished', detail: 'status T' };
  }
}

/** [sessiond] history_days= of x2gosql/sql: the service removes events older than this. */
export const HISTORY_DAYS_KEY = 'history_days';
export const DEFAULT_HISTORY_DAYS = 90;
/** A hundred years: beyond, keep everything by choosing this. */
export const MAX_HISTORY_DAYS = 36500;
