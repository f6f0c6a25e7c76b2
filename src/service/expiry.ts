// Expiry of suspended sessions ([sessiond] suspended_max_age=, with per-user and per-group values;
// off by default): this node's sessions suspended longer than their user's limit are terminated
// through X2Go's normal path, x2goterminate-session run as the session's user on the node that
// runs the agent (run-as-session-user.ts), after an 'expired' event in the history says why.
// Each node expires only its own sessions: only it can reach their agents.

import { suspendedMaxAgeOf, type ExpiryPolicy } from '../config/sessiond.js';
import type { FarmSession, FarmStore, Outcome } from '../model/farm.js';
import { groupsOfUser } from '../system/accounts.js';
import type { Level } from './log.js';

/** A session whose termination failed is tried again after this long (its agent may be stuck). */
const RETRY_AFTER_MS = 5 * 60_000;

export function expiryEnabled(policy: ExpiryPolicy): boolean {
  const some = (values: ReadonlyMap<string, number>) => [...values.values()].some((v) => v > 0);
  return policy.default !== undefined || some(policy.users) || some(policy.groups);
}

/** Seconds since the session's last change (stored in local time, as the reference stores it). */
function suspendedFor(session: FarmSession, now: number): number {
  return Math.floor((now - new Date(session.lastTime).getTime()) / 1000);
}

export class SuspendedExpiry {
  readonly #attempted = new Map<string, number>();

  constructor(
    private readonly node: string,
    private readonly policy: ExpiryPolicy,
    private readonly terminate: (session: FarmSession) => Promise<Outcome>,
    private readonly log: (level: Level, message: string) => void,
  ) {}

  /** One pass: every suspended session of this node past its user's limit. */
  async run(farm: FarmStore, now = Date.now()): Promise<void> {
    const suspended = await farm.sessions({ server: this.node, status: 'S' });
    for (const session of suspended) {
      const limit = suspendedMaxAgeOf(this.policy, session.uname, () => groupsOfUser(session.uname));
      const age = suspendedFor(session, now);
      if (limit === undefined || age <= limit) continue;
      const last = this.#attempted.get(session.sessionId);
      if (last !== undefined && now - last < RETRY_AFTER_MS) continue;
      if (last === undefined) {
        await farm.recordEvent({
          sessionId: session.sessionId,
          uname: session.uname,
          server: session.server,
          event: 'expired',
          detail: `suspended ${age} s, longer than suspended_max_age ${limit} s`,
          by: { uid: process.getuid?.() ?? 0, node: this.node },
        });
      }
      this.#attempted.set(session.sessionId, now);
      const outcome = await this.terminate(session);
      this.log(
        outcome.ok ? 'notice' : 'warning',
        `expiry: ${session.sessionId} of ${session.uname} suspended for ${age} s (limit ${limit} s): ${outcome.outcome}`,
      );
    }
    // Forget sessions that are gone or resumed.
    const still = new Set(suspended.map((s) => s.sessionId));
    for (const id of this.#attempted.keys()) if (!still.has(id)) this.#attempted.delete(id);
  }
}
