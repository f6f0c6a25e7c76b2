// Per-user quotas of sessions and ports: without them one user could take every display and port
// (four loops of x2goreservesession took 65,519 ports and 4,096 sessions in 36 s) and no one
// else could log in. The policy lives here, once; a backend only counts, inside the same write
// transaction as the insert, what the user holds (see SessionStore), and calls assertRoom.
//
// What counts against a user: every row they created, whatever its status.
// - F rows count: a finished session keeps its display and ports until root's x2gocleansessions
//   purges it, and a user can set any of their sessions to F (changestatus), so not counting F
//   would let them squat all the same.
// - Nothing is exempted because its agent looks alive: the user can point agent_pid at any of
//   their own processes whose command line contains the session id.
// - A desktop-sharing session is stored in the viewer's name but created by the desktop's owner:
//   it counts against the owner, never the viewer, so that no one can use up another user's
//   quota by sharing their desktop with them. Its ports count against the same owner.
// - Root (and the owner of a private database) is not limited: they can change the file anyway.

import { SessionDbError } from './errors.js';
import { sessionName } from './ownership.js';

export interface QuotaLimits {
  /** Sessions (rows of `sessions`, any status) one user may hold. */
  sessionsPerUser: number;
  /** Ports (rows of `used_ports`) one user's sessions may hold. */
  portsPerUser: number;
}

/**
 * A user has a few sessions (a desktop, a suspended one, a published application or two) and
 * X2Go gives each at most 5 ports (graphics, sound, file sharing, two telekinesis). Rows of
 * finished sessions count until x2gocleansessions purges them. 20 and 100 leave room for all of
 * that, while it takes about 500 users to use up the 10,000 displays a session id can name, and
 * 350 to use up the ports above 30000.
 */
export const DEFAULT_QUOTA: QuotaLimits = { sessionsPerUser: 20, portsPerUser: 100 };

/** The configuration keys, in the [quota] section of x2gosql/sql. */
export const QUOTA_KEYS = { sessionsPerUser: 'sessions_per_user', portsPerUser: 'ports_per_user' } as const;

export interface Holdings {
  sessions: number;
  ports: number;
}

/**
 * Whether a stored row (session id, uname) counts against `user`, for a store that does not
 * record who created it (SQLite). A desktop-sharing id (..._stS<n>XSHAD<owner>XSHAD...) stored
 * in the name it starts with (the viewer's, as insertshadowsession stores it) was created by the
 * desktop's owner; any other row by the user it is stored under. The id is read with the same
 * parse as the ownership rules (sessionName), so what a user may create is always theirs here.
 */
export function createdBy(sessionId: string, uname: string): string {
  const name = sessionName(sessionId);
  if (name?.sharedDesktopOf !== undefined && name.user === uname) return name.sharedDesktopOf;
  return uname;
}

/** The check a store runs inside its write transaction before adding rows for `user`. */
export interface QuotaGuard {
  /** The user the new rows count against (the caller). */
  readonly user: string;
  /** Throws 'conflict' (exit 1) when what the user holds plus this change exceeds a limit. */
  assertRoom(held: Holdings): void;
}

export function quotaGuard(user: string, limits: QuotaLimits, adding: Holdings, where: string): QuotaGuard {
  const exceeded = (what: 'sessions' | 'ports', held: number, add: number, limit: number, key: string) => {
    // Only what this change adds is checked: a limit lowered below what a user holds already
    // does not keep them from adding ports to the sessions they have.
    if (add === 0 || held + add <= limit) return;
    throw new SessionDbError(
      'conflict',
      `${user} holds ${held} ${what}${add > 1 ? ` and asks for ${add} more` : ''}, and ${limit} is the limit per user; end some (root purges finished ones), or root raises ${key}= in [quota] of ${where}`,
    );
  };
  return {
    user,
    assertRoom(held) {
      exceeded('sessions', held.sessions, adding.sessions, limits.sessionsPerUser, QUOTA_KEYS.sessionsPerUser);
      exceeded('ports', held.ports, adding.ports, limits.portsPerUser, QUOTA_KEYS.portsPerUser);
    },
  };
}
