// The seam between the model and a backend: the few primitive reads and writes every operation
// of the reference's X2Go::Server::DB is made of. A backend (SQLite, PostgreSQL) implements this
// and nothing else; authorization and validation happen above it, in SessionDb, and again inside
// the database where the backend can enforce it (PostgreSQL roles and row-level security).
//
// Every method that writes runs as one transaction. Errors are SessionDbError: 'conflict' for a
// display, port or session id already taken, 'unavailable' when the database cannot be reached.

import type { EventActor, EventFilter, SessionEvent } from './history.js';
import type { StoredNode } from './farm.js';
import type { QuotaGuard } from './quota.js';
import type { SessionLimitGuard } from './session-limit.js';
import type { Mount, ServerLoad, SessionEndpoint, SessionRow, SessionStatus } from './types.js';

export interface SessionFilter {
  /** Only this server's sessions; all servers when undefined. */
  server?: string;
  /** Only rows whose uname is this; all users when undefined (root listings). */
  uname?: string;
  /** Desktop-sharing sessions are the ones whose id contains XSHAD. */
  kind: 'desktop' | 'shadow' | 'any';
  /** Listings for users leave out status F; root listings include it. */
  includeFinished: boolean;
}

export interface NewSession {
  sessionId: string;
  display: number;
  server: string;
  uname: string;
  /** When set, the store counts what quota.user holds and calls assertRoom in the insert's transaction. */
  quota?: QuotaGuard | undefined;
  /** Recorded in the 'created' event written with the row. */
  by?: EventActor | undefined;
}

/** What a login asks for in one step: a display, some ports, the session row. */
export interface Reservation {
  server: string;
  uname: string;
  /** The session id for a display (it names the display). */
  sessionId(display: number): string;
  /** The lowest free display at or above this, up to displayEnd. */
  displayStart: number;
  displayEnd: number;
  /** Displays the host reports busy (X servers, sockets): never given out. */
  busyDisplays: ReadonlySet<number>;
  /** How many ports, the lowest free at or above portStart. */
  portCount: number;
  portStart: number;
  busyPorts: ReadonlySet<number>;
  /** As for NewSession: checked in the reservation's transaction, before anything is inserted. */
  quota?: QuotaGuard | undefined;
  /**
   * x2goserver.conf's [limit users]/[limit groups] for this user (model/session-limit.ts): the
   * store counts the user's sessions that are not finished (farm-wide), serialised against the
   * user's other writers as the quota is, and calls assertBelow before inserting.
   */
  limit?: SessionLimitGuard | undefined;
  /** Recorded in the 'created' event written with the row. */
  by?: EventActor | undefined;
}

export interface Reserved {
  sessionId: string;
  display: number;
  ports: number[];
  /** Candidates another starter took first (0 where the backend serialises reservations). */
  retries: number;
}

export interface AgentStart {
  cookie: string;
  agentPid: number;
  endpoint: SessionEndpoint;
}

/**
 * Quotas (model/quota.ts): a store that gets a QuotaGuard counts, inside the transaction that
 * inserts and serialised against every other writer for the same user (on every node of a farm),
 * the sessions and ports quota.user created, and calls quota.assertRoom before inserting.
 * Stores that record the creator (PostgreSQL's creator_id) count by it; others use createdBy().
 *
 * History (model/history.ts): every method that creates, starts, suspends, resumes, finishes or
 * purges a session writes that event in the same transaction as the change (so a killed writer
 * leaves both or neither), with `by` (the caller's uid and this node) when given. Adding or
 * removing ports and mounts is not an event.
 */
export interface SessionStore {
  /** Ordered by status descending, as every reference listing is. */
  listSessions(filter: SessionFilter): Promise<SessionRow[]>;
  getSession(sessionId: string): Promise<SessionRow | undefined>;

  /** Event: created. */
  insertSession(session: NewSession): Promise<void>;
  /** The agent is up: status R, its cookie, pid, client and ports. Returns the number of rows changed. Event: started. */
  markStarted(sessionId: string, uname: string, start: AgentStart, by?: EventActor): Promise<number>;
  /** A client reconnects: status R, its client and ports. Returns the number of rows changed. Event: resumed. */
  markResumed(sessionId: string, uname: string, endpoint: SessionEndpoint, by?: EventActor): Promise<number>;
  /**
   * Event: as statusEvent() (history.ts) names it. With `from`, only while the status is still
   * `from` (a change decided on a status read earlier).
   */
  setStatus(sessionId: string, uname: string, status: SessionStatus, by?: EventActor, from?: SessionStatus): Promise<number>;
  /** Removes the session, its mounts and its ports. Returns false when there was no such session. Event: purged. */
  deleteSession(sessionId: string, by?: EventActor): Promise<boolean>;

  /** The events the caller may read (PostgreSQL: row-level security decides too), oldest first. */
  events(filter: EventFilter): Promise<SessionEvent[]>;
  /** Retention: removes events older than `before` (root's store only). Returns how many. */
  pruneEvents(before: Date): Promise<number>;

  /** Displays in use; a backend with farm-wide display numbers returns all servers' displays. */
  displays(server: string): Promise<number[]>;
  /** Ports in use; a backend with farm-wide port numbers returns all servers' ports. */
  ports(server: string): Promise<number[]>;
  servers(): Promise<ServerLoad[]>;
  /** The node registry's rows (x2gogetservers --json); none on a database without nodes. */
  nodes(): Promise<StoredNode[]>;

  /**
   * In one transaction: the lowest free display and the lowest free ports (free in the store and
   * not busy on the host), the session row and its port rows. Safe against concurrent callers
   * on other processes and farm nodes; 'conflict' when the ranges are used up.
   */
  reserve(request: Reservation): Promise<Reserved>;

  /**
   * Fails with 'not-found' when the session does not exist, 'conflict' when the port is taken or
   * the quota (checked in the same transaction when given) is used up.
   */
  insertPort(server: string, sessionId: string, port: number, quota?: QuotaGuard): Promise<void>;
  deletePort(server: string, sessionId: string, port: number): Promise<void>;

  mounts(sessionId: string): Promise<Mount[]>;
  /** Fails with 'not-found' when the session does not exist, 'conflict' when that client's path is already mounted. */
  insertMount(sessionId: string, path: string, client: string): Promise<void>;
  deleteMount(sessionId: string, path: string): Promise<void>;
  deleteMounts(sessionId: string): Promise<void>;

  close(): Promise<void>;

  /** Optional: the schema version recorded in the database (for status reports). */
  schemaVersion?(): Promise<number>;

  /**
   * Optional: true when this uid owns the database itself (a private SQLite file, as in the
   * quick start). Root-only commands protect nothing from such a caller, who could edit the
   * file directly, so they are allowed. Through the setgid launcher the file is root's.
   */
  ownedBy?(uid: number): boolean;
}
