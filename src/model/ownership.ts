// Who may act on which session id: the reference's check_user rule, with its holes closed.
//
// A session id starts with the owner's name: alice-51-1700000000_stDxfce_dp24. A desktop-sharing
// session is named after the user who asked to watch (bob) and carries the shared desktop's
// owner after XSHAD: bob-52-1700000000_stS1XSHADaliceXSHADPP51_dp24. It is started by alice's
// side, so both the session's name owner (bob) and the shared desktop's owner (alice) act on it.
//
// Differences from the reference, on purpose:
// - the user name is matched literally (the reference pasted it into a regular expression, so a
//   '.' in a name matched any character);
// - the shared desktop's owner must be followed by XSHAD (the reference matched any name that
//   merely starts with the caller's, so user 'ali' could act on sessions sharing alice's desktop).

import { invalid } from './errors.js';
import type { Caller } from './types.js';

/**
 * The name stored in `uname` for a caller. Domain accounts (DOMAIN\alice) lose the backslash,
 * as x2gostartagent drops it from session ids and the reference drops it before inserting.
 */
export function storedUserName(caller: Caller): string {
  return caller.name.replace(/\\/g, '');
}

export function isRoot(caller: Caller): boolean {
  return caller.uid === 0;
}

/**
 * How a session id names its users, read once and the same way for every rule (ownership here,
 * quotas in quota.ts): the user before the first -<display>-<time>_st<type>, and for type S the
 * shared desktop's owner right after it (_stS<n>XSHAD<owner>XSHAD). A later "_stS1XSHAD..." in
 * an id of another type names nobody: reading it would let one user's id claim another's desktop.
 */
export interface SessionName {
  user: string;
  type: string;
  sharedDesktopOf?: string;
}

const NAMED = /^(.*?)-\d{2,}-\d{10,}_st(?:S[01]XSHAD(.*?)XSHAD|(.))/;

export function sessionName(sessionId: string): SessionName | undefined {
  const m = NAMED.exec(sessionId);
  if (!m) return undefined;
  const [, user = '', owner, type] = m;
  return owner !== undefined ? { user, type: 'S', sharedDesktopOf: owner } : { user, type: type ?? '' };
}

/** The user a session id is named after (the part before -<display>-<time>_). */
export function sessionIdUser(sessionId: string): string | undefined {
  return sessionName(sessionId)?.user;
}

/** True if the session id is one of the user's own desktop sessions (type D or R). */
function namesOwnDesktop(sessionId: string, user: string): boolean {
  const name = sessionName(sessionId);
  return name !== undefined && name.user === user && (name.type === 'D' || name.type === 'R');
}

/** True if the session id shares the user's desktop (type S, XSHAD<user>XSHAD). */
function sharesDesktopOf(sessionId: string, user: string): boolean {
  return sessionName(sessionId)?.sharedDesktopOf === user;
}

export function mayActOn(caller: Caller, sessionId: string): boolean {
  if (isRoot(caller)) return true;
  const user = storedUserName(caller);
  return namesOwnDesktop(sessionId, user) || sharesDesktopOf(sessionId, user);
}

export function assertMayActOn(caller: Caller, sessionId: string): void {
  if (!mayActOn(caller, sessionId)) {
    throw invalid(`session ${sessionId} is not one of ${caller.name}'s sessions`);
  }
}

/**
 * A desktop-sharing session is inserted by the shared desktop's owner (the caller) for the user
 * who asked to watch (`viewer`), and stored under the viewer's name so that the viewer lists it.
 * The id must be named after the viewer and share the caller's desktop; anything else would let
 * the caller create rows in someone else's name.
 */
export function assertMayShareWith(caller: Caller, sessionId: string, viewer: string): void {
  if (isRoot(caller)) return;
  const user = storedUserName(caller);
  if (sessionIdUser(sessionId) !== viewer || !sharesDesktopOf(sessionId, user)) {
    throw invalid(`session ${sessionId} is not a desktop-sharing session of ${caller.name}'s desktop for ${viewer}`);
  }
}
