// What the dashboard's admin actions do: the one seam between the web page and the farm's
// operations. Terminate and suspend go the way x2go-sessiondb terminate/suspend go
// (src/farm/session-actions.ts): a session on this node is handed to X2Go's own program as the
// session's user (through x2gosessiond-runas, as the service has no root); a session on another
// node becomes an admin request that node's service carries out, and its outcome is waited for.

import { openFarm } from '../../backends/farm.js';
import type { Settings } from '../../config/config.js';
import type { FarmStore } from '../../model/farm.js';
import { parseSessionId } from '../../model/validate.js';
import { actionable, carryOut } from '../../farm/session-actions.js';

export const ACTIONS = ['terminate', 'suspend'] as const;
export type Action = (typeof ACTIONS)[number];

export interface ActionResult {
  ok: boolean;
  message: string;
}

/** Carries out one action on one session, as the farm's administrator. */
export type RunAction = (action: Action, sessionId: string) => Promise<ActionResult>;

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && (ACTIONS as readonly string[]).includes(value);
}

/** The actions of this node (`node`: its server name), on the farm's store, opened once. */
export function farmActions(settings: Settings, node: string, nodeTimeoutS: number): RunAction {
  let opening: Promise<FarmStore> | undefined;
  return async (action, sessionId) => {
    parseSessionId(sessionId);
    opening ??= openFarm(settings, 'service').catch((err: unknown) => {
      opening = undefined;
      throw err;
    });
    const farm = await opening;
    const session = (await farm.sessions({})).find((s) => s.sessionId === sessionId);
    if (!session) return { ok: false, message: `no session ${sessionId}` };
    const refused = actionable(action, session);
    if (refused) return { ok: false, message: refused };
    const [result] = await carryOut(farm, action, [session], node, await farm.nodes(nodeTimeoutS));
    return result ? { ok: result.ok, message: result.outcome } : { ok: false, message: 'nothing was done' };
  };
}
