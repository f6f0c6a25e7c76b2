// x2goserver.conf's [limit users] and [limit groups], applied exactly as x2goserver's
// /usr/bin/x2gosessionlimit applies them, but inside the reservation's transaction instead of
// before it (x2gostartagent runs x2gosessionlimit, then starts: two logins at once both pass).
//
// x2gosessionlimit, as it reads them:
// - the count is the user's own sessions that are not finished, on every server (what
//   `x2golistsessions --all-servers` lists: desktop sessions, not desktop sharing);
// - a [limit users] entry for the user decides alone: 0 means no limit, otherwise the user may
//   start while count < limit;
// - otherwise each of the user's groups with a [limit groups] entry: any 0 means no limit,
//   else the largest value is the user's limit (count < largest). A group limit is a limit per
//   user of that group, not a pool the group's users share: x2gosessionlimit counts only the
//   caller's sessions;
// - values are numbers as Perl reads strings ("2x" is 2, "x" is 0), compared numerically;
// - over the limit it prints LIMIT, which x2gostartagent passes to the client on stderr.

import { SessionDbError } from './errors.js';

/** The entries as the file has them, name and raw value, in the file's order. */
export interface SessionLimits {
  users: readonly (readonly [string, string])[];
  groups: readonly (readonly [string, string])[];
}

export const NO_SESSION_LIMITS: SessionLimits = { users: [], groups: [] };

/** What x2gosessionlimit prints over the limit, and what x2gostartagent looks for. */
export const LIMIT_MESSAGE = 'LIMIT';

/** Perl's numeric value of a string: its leading decimal number, or 0. */
export function perlNumber(text: string): number {
  const m = /^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/.exec(text);
  return m ? Number(m[1]) : 0;
}

function entry(entries: SessionLimits['users'], name: string): string | undefined {
  let value: string | undefined;
  for (const [key, v] of entries) if (key === name) value = v;
  return value;
}

/**
 * The user's limit (may start while count < limit), or undefined for no limit. `groups` is
 * asked only when a group entry could decide (it may start a process).
 */
export function sessionLimitOf(limits: SessionLimits, user: string, groups: () => readonly string[]): number | undefined {
  const own = entry(limits.users, user);
  if (own !== undefined && own !== '') {
    const n = perlNumber(own);
    return n === 0 ? undefined : n;
  }
  if (limits.groups.length === 0) return undefined;
  let max = -1;
  for (const group of groups()) {
    const value = entry(limits.groups, group);
    if (value === undefined || value === '') continue;
    const n = perlNumber(value);
    if (n === 0) return undefined;
    if (n > max) max = n;
  }
  return max === -1 ? undefined : max;
}

/** The check a store runs inside the reservation's transaction, after counting. */
export interface SessionLimitGuard {
  /** The stored user name whose sessions count. */
  readonly user: string;
  /** Throws 'conflict' with x2gosessionlimit's LIMIT when `count` sessions leave no room. */
  assertBelow(count: number): void;
}

export function sessionLimitGuard(user: string, limit: number): SessionLimitGuard {
  return {
    user,
    assertBelow(count) {
      if (!(count < limit)) throw new SessionDbError('conflict', LIMIT_MESSAGE);
    },
  };
}
