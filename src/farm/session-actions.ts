// terminate/suspend for the administrator: a session on this node is handed to X2Go's own
// program as the session's user (run-as-session-user.ts); a session on another node becomes an
// admin request, which that node's x2gosessiond carries out at once (LISTEN/NOTIFY) and whose
// outcome is waited for here. A node that is down or runs no service is named in a clear error,
// and nothing is queued for it.

import type { AdminAction, FarmNode, FarmSession, FarmStore } from '../model/farm.js';
import { runAsSessionUser } from '../service/run-as-session-user.js';

export interface ActionResult {
  sessionId: string;
  server: string;
  action: AdminAction;
  ok: boolean;
  outcome: string;
}

/** The node's program may wait for the agent (up to 60 s there); then a little more for the answer. */
const OUTCOME_TIMEOUT_MS = 65_000;
const POLL_MS = 100;

/** Which sessions an action applies to: terminate ends running and suspended ones, suspend only running ones. */
export function actionable(action: AdminAction, session: FarmSession): string | undefined {
  if (action === 'terminate' && session.status !== 'F') return undefined;
  if (action === 'suspend' && session.status === 'R') return undefined;
  return `${session.sessionId} on ${session.server} is ${({ R: 'running', S: 'suspended', F: 'finished' } as Record<string, string>)[session.status] ?? session.status}; nothing to ${action}`;
}

async function remote(farm: FarmStore, action: AdminAction, session: FarmSession, node: FarmNode | undefined): Promise<ActionResult> {
  const result = (ok: boolean, outcome: string): ActionResult => ({
    sessionId: session.sessionId,
    server: session.server,
    action,
    ok,
    outcome,
  });
  if (!farm.queueRequest || !farm.request) {
    return result(
      false,
      `${session.sessionId} is on ${session.server}, and this database serves one node (${session.server} is not this host)`,
    );
  }
  if (!node) {
    return result(
      false,
      `node ${session.server} runs no x2gosessiond (it is not in the node registry): run the command on ${session.server}`,
    );
  }
  if (node.state === 'down') {
    return result(
      false,
      `node ${session.server} is down (last seen ${Math.round(node.secondsSinceSeen)} s ago): cannot ${action} ${session.sessionId}; the farm closes a down node's sessions by itself`,
    );
  }
  const id = await farm.queueRequest(session.server, session.sessionId, action, 0);
  const deadline = Date.now() + OUTCOME_TIMEOUT_MS;
  for (;;) {
    const request = await farm.request(id);
    if (request && request.state !== 'queued') return result(request.state === 'done', request.outcome ?? request.state);
    if (Date.now() > deadline) {
      return result(
        false,
        `node ${session.server} did not carry out request ${id} within ${OUTCOME_TIMEOUT_MS / 1000} s (it stays queued)`,
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export async function carryOut(
  farm: FarmStore,
  action: AdminAction,
  sessions: FarmSession[],
  here: string,
  nodes: FarmNode[],
): Promise<ActionResult[]> {
  const byName = new Map(nodes.map((n) => [n.server, n]));
  return Promise.all(
    sessions.map(async (session): Promise<ActionResult> => {
      if (session.server === here) {
        const done = await runAsSessionUser(action, session);
        return { sessionId: session.sessionId, server: session.server, action, ...done };
      }
      return remote(farm, action, session, byName.get(session.server));
    }),
  );
}
