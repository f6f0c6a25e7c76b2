// The values the session database holds, as the model sees them. Column names follow the
// reference's schema (sessions, used_ports, mounts); field names are their camelCase forms.

/** R running, S suspended, T terminating, F failed or finished. */
export type SessionStatus = 'R' | 'S' | 'T' | 'F';

/** One row of `sessions`, with the two derived values every listing prints. */
export interface SessionRow {
  agentPid: number | null;
  sessionId: string;
  display: number;
  server: string;
  /** Usually a SessionStatus; a row written by other code may hold anything, and is printed as it is. */
  status: string;
  /** Local time, `YYYY-MM-DDTHH:MM:SS`. */
  initTime: string;
  cookie: string | null;
  client: string | number | null;
  grPort: number | null;
  soundPort: number | null;
  /** Local time, `YYYY-MM-DDTHH:MM:SS`. */
  lastTime: string;
  uname: string;
  /** Seconds since initTime. */
  ageSeconds: number | null;
  fsPort: number | null;
  tekictrlPort: number | null;
  tekidataPort: number | null;
}

/** What a user may see of the sessions table without identities: used by display allocation. */
export interface ServerLoad {
  server: string;
  /** Sessions on that server whose status is not F. */
  sessions: number;
}

export interface Mount {
  client: string | number;
  path: string;
}

/** The ports and addresses a session gets when its agent starts or resumes. */
export interface SessionEndpoint {
  client: string;
  grPort: number;
  soundPort: number;
  fsPort: number;
  /** -1 when telekinesis is off. */
  tekictrlPort: number;
  tekidataPort: number;
}

/** Who is calling: the real uid and its user name, resolved once at the edge. */
export interface Caller {
  uid: number;
  /** The UNIX user name as the system reports it (may hold a backslash for domain accounts). */
  name: string;
}
