// Where a user's next login should go (x2go-sessiondb place): one decision, from the node
// registry and the farm's sessions, with its reason and every candidate's score.
//
//   1. Resume affinity: the node holding the user's most recent suspended session, unless that
//      node is down (a draining node still resumes its own sessions).
//   2. Otherwise the active node (not draining, not down) under its capacity with the lowest
//      weighted load: (its unfinished sessions + 1) / weight, the load it would carry with this
//      login; ties go to the lower load average per core, then to more memory available, then
//      to the name.
//   3. Nowhere, when the user already holds as many unfinished sessions as [limit users] /
//      [limit groups] allow (farm-wide), or no active node has room.

import type { FarmNode, FarmSession, NodeState } from '../model/farm.js';

export interface Candidate {
  server: string;
  state: NodeState;
  weight: number;
  capacity: number | null;
  /** Unfinished sessions on the node. */
  sessions: number;
  loadPerCore: number | null;
  memAvailableBytes: number | null;
  /** (sessions + 1) / weight; lower is better. */
  score: number;
  eligible: boolean;
  /** Why not, for a node that is not eligible. */
  excluded?: string;
}

export interface Placement {
  user: string;
  /** undefined: nowhere. */
  server: string | undefined;
  kind: 'resume' | 'new' | 'none';
  sessionId?: string;
  reason: string;
  candidates: Candidate[];
}

export interface PlacementInput {
  user: string;
  nodes: FarmNode[];
  sessions: FarmSession[];
  /** The user's session limit; undefined: none. */
  limit: number | undefined;
  /** The server when no node is registered (SQLite, one node: the host itself). */
  here: string;
}

const unfinished = (s: FarmSession) => s.status !== 'F';

function candidatesOf(nodes: FarmNode[], sessions: FarmSession[]): Candidate[] {
  return nodes.map((node) => {
    const count = sessions.filter((s) => s.server === node.server && unfinished(s)).length;
    const excluded =
      node.state === 'down'
        ? `down (not seen for ${Math.round(node.secondsSinceSeen)} s)`
        : node.state === 'draining'
          ? 'draining'
          : node.capacity !== null && count >= node.capacity
            ? `at capacity (${count}/${node.capacity})`
            : undefined;
    return {
      server: node.server,
      state: node.state,
      weight: node.weight,
      capacity: node.capacity,
      sessions: count,
      loadPerCore: node.load?.loadPerCore ?? null,
      memAvailableBytes: node.load?.memAvailableBytes ?? null,
      score: Math.round(((count + 1) / node.weight) * 1000) / 1000,
      eligible: excluded === undefined,
      ...(excluded ? { excluded } : {}),
    };
  });
}

function better(a: Candidate, b: Candidate): number {
  return (
    a.score - b.score ||
    (a.loadPerCore ?? 0) - (b.loadPerCore ?? 0) ||
    (b.memAvailableBytes ?? 0) - (a.memAvailableBytes ?? 0) ||
    a.server.localeCompare(b.server)
  );
}

export function place(input: PlacementInput): Placement {
  const { user } = input;
  const candidates = candidatesOf(input.nodes, input.sessions).sort(better);
  const state = new Map(input.nodes.map((n) => [n.server, n.state]));
  const mine = input.sessions.filter((s) => s.uname === user);

  const suspended = mine.filter((s) => s.status === 'S').sort((a, b) => b.lastTime.localeCompare(a.lastTime));
  const skipped: string[] = [];
  for (const s of suspended) {
    if (state.get(s.server) === 'down') {
      skipped.push(`${s.sessionId} on ${s.server}, which is down`);
      continue;
    }
    return {
      user,
      server: s.server,
      kind: 'resume',
      sessionId: s.sessionId,
      reason: `resume affinity: ${user}'s suspended session ${s.sessionId} is on ${s.server}`,
      candidates,
    };
  }
  const also = skipped.length ? ` (not resuming ${skipped.join(', ')})` : '';

  const held = mine.filter(unfinished).length;
  if (input.limit !== undefined && held >= input.limit) {
    return {
      user,
      server: undefined,
      kind: 'none',
      reason: `${user} holds ${held} unfinished session(s) and may hold ${input.limit} (x2goserver.conf [limit users]/[limit groups]): no new session anywhere${also}`,
      candidates,
    };
  }
  if (input.nodes.length === 0) {
    return {
      user,
      server: input.here,
      kind: 'new',
      reason: `the only node: ${input.here} (no node registry: one server)${also}`,
      candidates,
    };
  }
  const best = candidates.find((c) => c.eligible);
  if (!best) {
    return { user, server: undefined, kind: 'none', reason: `no active node with room among ${candidates.length}${also}`, candidates };
  }
  const active = candidates.filter((c) => c.eligible).length;
  return {
    user,
    server: best.server,
    kind: 'new',
    reason: `lowest weighted load: (${best.sessions} sessions + 1) / weight ${best.weight} = ${best.score.toFixed(2)} among ${active} active node(s) with room${also}`,
    candidates,
  };
}
