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
