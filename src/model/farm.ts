// The farm as x2gosessiond and the administrator see it (table nodes, migration 0006): each
// node's heartbeat and load, the administrator's placement settings (state, weight, capacity),
// every session of the farm, and the admin requests queued for other nodes. A backend provides
// this through src/backends/farm.ts; what only a farm has (heartbeats, dead-node cleanup, requests
// to another node) are optional methods, absent on SQLite, whose one node is the host itself.

import { SessionDbError } from './errors.js';
import type { NewSessionEvent } from './history.js';

/** What a node's service reports with each heartbeat, besides its sessions (which the store counts). */
export interface SystemLoad {
  /** The one-minute load average divided by the number of cores. */
  loadPerCore: number;
  /** MemAvailable of /proc/meminfo, in bytes. */
  memAvailableBytes: number;
}

export interface Heartbeat {
  server: string;
  version: string;
  pid: number;
  startedAt: Date;
  system: SystemLoad;
}

/** The load a node last reported: sessions of that server by status, and its system's figures. */
export interface NodeLoad extends SystemLoad {
  sessions: Record<string, number>;
}

export type NodeState = 'active' | 'draining' | 'down';

export interface FarmNode {
  server: string;
  /** Derived: down when not seen for node_timeout (never stored); else the administrator's setting. */
  state: NodeState;
  /** What the administrator set (active or draining), also for a node that is down. */
  setState: 'active' | 'draining';
  weight: number;
  capacity: number | null;
  load: NodeLoad | null;
  version: string;
  pid: number | null;
  startedAt: string;
  lastSeen: string;
  /** By the database's clock, which every node shares. */
  secondsSinceSeen: number;
}

export interface FarmSession {
  sessionId: string;
  uname: string;
  server: string;
  status: string;
  display: number;
  client: string | null;
  agentPid: number | null;
  /** As stored (local time), ISO-like: YYYY-MM-DDTHH:MM:SS. */
  initTime: string;
  lastTime: string;
}

/** A farm listing's row, as both backends select it (times already as text). */
export function farmSessionOf(r: Record<string, unknown>): FarmSession {
  return {
    sessionId: String(r.session_id),
    uname: String(r.uname),
    server: String(r.server),
    status: String(r.status),
    display: Number(r.display),
    // The reference's SQLite schema lets a client be empty; PostgreSQL's checks refuse it.
    client: r.client == null || r.client === '' ? null : String(r.client),
    agentPid: r.agent_pid == null ? null : Number(r.agent_pid),
    initTime: String(r.init_time),
    lastTime: String(r.last_time),
  };
}

export interface SessionFilter {
  user?: string;
  server?: string;
  status?: string;
  /** Only sessions whose last change is older than this many seconds. */
  olderThanS?: number;
}

export interface NodeChange {
  state?: 'active' | 'draining';
  weight?: number;
  /** null: no capacity. */
  capacity?: number | null;
}

/** What a dead-node cleanup did: undefined when another node held the lock. */
export interface Cleanup {
  /** Per down node, the sessions closed. */
  closed: { server: string; sessions: string[] }[];
}

export type AdminAction = 'terminate' | 'suspend';

export interface AdminRequest {
  id: number;
  node: string;
  sessionId: string;
  action: AdminAction;
  requestedBy: number;
  state: 'queued' | 'done' | 'failed';
  outcome: string | null;
}

/** How a queued request turned out, as the node's service records it. */
export interface Outcome {
  ok: boolean;
  outcome: string;
}

export interface FarmStore {
  /**
   * Records this node's heartbeat; the administrator's state, weight and capacity stay. Absent
   * on SQLite: its one node is implicit, and a write every few seconds to the file every helper
   * locks would buy nothing.
   */
  heartbeat?(beat: Heartbeat): Promise<void>;
  /** Every registered node, its state derived with this timeout. */
  nodes(nodeTimeoutS: number): Promise<FarmNode[]>;
  /** false when no node of that name is registered. */
  setNode(server: string, change: NodeChange): Promise<boolean>;
  sessions(filter: SessionFilter): Promise<FarmSession[]>;
  /** Appends one event to the history in a transaction of its own (expiry's 'expired', before it terminates). */
  recordEvent(event: NewSessionEvent): Promise<void>;
  /**
   * Closes the sessions, ports and mounts of nodes not seen for the timeout (not `self`), with a
   * 'cleaned' event per session, in one transaction under a lock only one node holds at a time.
   */
  cleanDownNodes?(self: string, nodeTimeoutS: number): Promise<Cleanup | undefined>;
  /** Queues a request for the node that runs the session; returns its id. */
  queueRequest?(node: string, sessionId: string, action: AdminAction, byUid: number): Promise<number>;
  request?(id: number): Promise<AdminRequest | undefined>;
  /** Carries out this node's queued requests one by one, each recorded with its outcome. */
  takeRequests?(node: string, carryOut: (request: AdminRequest) => Promise<Outcome>): Promise<number>;
  /** Calls `wake` whenever a request is queued for `node` (PostgreSQL LISTEN). */
  listenForRequests?(node: string, wake: () => void): Promise<void>;
  close(): Promise<void>;
}

/** A node's row as a user may read it (x2gogetservers --json): the registry's figures. */
export interface StoredNode {
  server: string;
  /** As the administrator set it; a node is down when secondsSinceSeen exceeds [sessiond] node_timeout. */
  state: 'active' | 'draining';
  weight: number;
  capacity: number | null;
  load: NodeLoad | null;
  secondsSinceSeen: number;
}

/**
 * A nodes row as both stores select it (server, state, weight, capacity, load as JSON text,
 * since: seconds since last_seen by the database's clock) to what a user may read of it.
 */
export function storedNodeOf(r: Record<string, unknown>): StoredNode {
  return {
    server: String(r.server),
    state: r.state === 'draining' ? 'draining' : 'active',
    weight: Number(r.weight),
    capacity: r.capacity == null ? null : Number(r.capacity),
    load: r.load == null ? null : (JSON.parse(String(r.load)) as StoredNode['load']),
    secondsSinceSeen: Math.round(Number(r.since)),
  };
}

/** What x2gogetservers --json prints per server: the reference's count and the registry's figures. */
export interface ServerFigures extends Partial<Omit<StoredNode, 'server'>> {
  server: string;
  /** Unfinished sessions, as x2gogetservers counts them. */
  sessions: number;
}

/** Who opens the farm store: the service (its own login, acting as root) or root's CLI. */
export type FarmOpener = 'service' | 'root';

/**
 * The reservation's refusal on a draining node (both backends, in the reservation's
 * transaction): the node keeps and resumes its sessions, but takes no new one.
 */
export function drainingRefusal(server: string, user: string): SessionDbError {
  return new SessionDbError(
    'conflict',
    `${server} is draining: it takes no new session (its own go on and resume); start ${user}'s session on another server (x2go-sessiondb place --user ${user})`,
  );
}
