// What the dashboard's admin actions do: the one seam between the web page and the farm's
// operations. Until the farm-operations work (issue 12: x2go-sessiondb sessions terminate/suspend,
// drain) is merged, terminate and suspend run this service's own dispatch as root: the session's
// status in the database (x2godb changestatus F or S), as x2goserver's own scripts record it.
// Replace run() here, and nothing else, to reach the node that runs the session's agent.

import type { Response } from '../../app/dispatch.js';
import { parseSessionId } from '../../model/validate.js';

export const ACTIONS = ['terminate', 'suspend'] as const;
export type Action = (typeof ACTIONS)[number];

/** Runs a command as root through the service's runner. */
export type RootCommand = (program: string, args: string[]) => Promise<Response>;

export interface ActionResult {
  ok: boolean;
  message: string;
}

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && (ACTIONS as readonly string[]).includes(value);
}

export async function runAction(root: RootCommand, action: Action, sessionId: string): Promise<ActionResult> {
  parseSessionId(sessionId);
  const status = action === 'terminate' ? 'F' : 'S';
  const response = await root('x2godb', ['changestatus', status, sessionId]);
  if (response.exitCode === 0) return { ok: true, message: `${action}: ${sessionId}` };
  return { ok: false, message: response.stderr.trim() || `exit ${response.exitCode}` };
}
