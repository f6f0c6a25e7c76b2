// What x2go-sessiondb doctor asks of a backend: the database's facts, judged by the checks in
// src/doctor/, and the repairs it may carry out. Each repair runs in its own transaction with
// the 'fixed' event that records it (session_events), so a repair is never without its history.

import type { SessionStatus } from './types.js';

/** One row the checks name: what it is (a session id, a port, a file) and what is wrong with it. */
export interface Finding {
  subject: string;
  detail: string;
  /** What --fix would do; absent when nothing is safe to do automatically (the detail says what to do). */
  repair?: Repair;
}

export interface FactSession {
  sessionId: string;
  uname: string;
  server: string;
  display: number;
  status: SessionStatus;
  agentPid: number | null;
  /** Seconds since the row last changed (last_time), by the database's clock. */
  lastChangeAge: number;
}

export interface DatabaseFacts {
  /** Every session row, finished ones too. */
  sessions: FactSession[];
  /** Port rows whose session is gone. */
  orphanPorts: { server: string; port: number; sessionId: string | null }[];
  /** Mount rows whose session is gone. */
  orphanMounts: { sessionId: string | null; path: string; client: string }[];
  /** Nodes of the farm's registry: seconds since each was last seen, and the state the administrator set. */
  nodes: { server: string; lastSeenAge: number; state: 'active' | 'draining' }[];
  schema: { version: number; latest: number };
  /** The backend's own set-up: roles and memberships, password files, the database file's modes. */
  setup: Finding[];
}

/** Who repairs, for the history: root's uid and this node's name. */
export interface Repairer {
  uid: number;
  node: string;
}

export type Repair =
  /** Marks the session F and removes it with its ports and mounts. */
  | { kind: 'end-session'; sessionId: string; why: string }
  /** Removes a finished session's row (and any ports and mounts left). */
  | { kind: 'purge-finished'; sessionId: string }
  | { kind: 'delete-port'; server: string; port: number }
  | { kind: 'delete-mount'; sessionId: string | null; path: string; client: string }
  /** x2godbadmin --updatedb. */
  | { kind: 'update-schema' }
  /** One of the backend's own set-up repairs, named by the backend in its setup findings. */
  | { kind: 'setup'; action: string; target: string };

/** Implemented by every backend's admin side (x2godbadmin's). */
export interface DoctorBackend {
  inspect(): Promise<DatabaseFacts>;
  /** Carries out one repair; returns the line that says what was done. */
  repair(repair: Repair, by: Repairer): Promise<string>;
}
