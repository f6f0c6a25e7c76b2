// A whole session database as plain rows, for moving it from one backend to another
// (x2godbadmin --migrate-from-sqlite): what the source backend exports and the target imports.
// Neutral on purpose: times are instants (ms since the epoch; each backend stores them its own
// way: SQLite as local-time text, PostgreSQL as timestamps), cookies without char(33) padding.
// The CLI moves a dump from one backend's admin to the other's; neither knows the other.

import { sessionName } from './ownership.js';

export interface TransferSession {
  sessionId: string;
  display: number;
  uname: string;
  server: string;
  client: string | null;
  status: string;
  initTime: number;
  lastTime: number;
  cookie: string | null;
  agentPid: number | null;
  grPort: number | null;
  soundPort: number | null;
  fsPort: number | null;
  tekictrlPort: number | null;
  tekidataPort: number | null;
}

export interface TransferPort {
  server: string;
  sessionId: string;
  port: number;
}

export interface TransferMount {
  sessionId: string;
  path: string;
  client: string;
}

/** A row of session_events (the history), where the source has the table. */
export interface TransferEvent {
  at: number;
  sessionId: string;
  uname: string;
  server: string;
  event: string;
  client: string | null;
  byUid: number | null;
  node: string | null;
  detail: string | null;
}

export interface SessionDump {
  /** Where it came from, for messages (a file). */
  source: string;
  sessions: TransferSession[];
  ports: TransferPort[];
  mounts: TransferMount[];
  /** undefined: the source has no history table (a database older than migration 0006). */
  events: TransferEvent[] | undefined;
}

/**
 * The user whose helpers created a session and so own its rows (ports, mounts): the user it is
 * named after, or for a desktop-sharing session the shared desktop's owner, who inserts it
 * for the viewer (see ownership.ts).
 */
export function creatorOf(sessionId: string, uname: string): string {
  const name = sessionName(sessionId);
  return name?.sharedDesktopOf ?? name?.user ?? uname;
}

/** Every user a dump's sessions name (viewers and creators), sorted: each needs a role. */
export function usersOf(dump: SessionDump): string[] {
  const users = new Set<string>();
  for (const s of dump.sessions) {
    users.add(s.uname);
    users.add(creatorOf(s.sessionId, s.uname));
  }
  return [...users].sort();
}
