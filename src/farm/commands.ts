// x2go-sessiondb's farm commands (root): sessions, terminate, suspend, nodes, drain, undrain,
// weight, capacity, place. A thin shell: strict arguments, one call into the farm store
// (model/farm.ts, through the configured backend), a table for people or --json for scripts.
// Loaded only when one of these commands runs: nothing here is on a helper call's path.

import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { openFarm } from '../backends/farm.js';
import { DEFAULT_CONFIG_DIR, loadSettings } from '../config/config.js';
import { loadSessiondSettings, parseDuration } from '../config/sessiond.js';
import { invalid, SessionDbError } from '../model/errors.js';
import type { AdminAction, FarmNode, FarmSession, FarmStore } from '../model/farm.js';
import { parseServer, parseSessionId, parseStatus, parseUserName } from '../model/validate.js';
import { place } from './placement.js';
import { actionable, carryOut } from './session-actions.js';
import { sessionLimitOf } from '../model/session-limit.js';
import { groupsOfUser } from '../system/accounts.js';
import { bytes, table } from './table.js';

export const FARM_COMMANDS = ['sessions', 'terminate', 'suspend', 'nodes', 'drain', 'undrain', 'weight', 'capacity', 'place'] as const;
type FarmCommand = (typeof FARM_COMMANDS)[number];

export const FARM_USAGE = `       x2go-sessiondb sessions  [--user U] [--server S] [--status R|S|F] [--older-than 2h] [--json]
       x2go-sessiondb terminate|suspend <session_id>... | --user U [--server S]  [--json]
       x2go-sessiondb nodes     [--json]
       x2go-sessiondb drain|undrain <server>
       x2go-sessiondb weight <server> <n>
       x2go-sessiondb capacity <server> <n|none>
       x2go-sessiondb place     --user U [--json] [--explain]
  (each also takes --config DIR, and --hostname NAME: this node's server name, default the host name)`;

export interface CommandResult {
  lines: string[];
  /** Lines for stderr (failures of single sessions), each prefixed by the program's name. */
  errors?: string[];
  code: number;
}

const COMMON = {
  config: { type: 'string' },
  hostname: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export function isFarmCommand(command: string | undefined): command is FarmCommand {
  return (FARM_COMMANDS as readonly string[]).includes(command ?? '');
}

async function withFarm<T>(configDir: string, work: (farm: FarmStore) => Promise<T>): Promise<T> {
  const settings = loadSettings(configDir);
  const farm = await openFarm(settings, 'root');
  try {
    return await work(farm);
  } finally {
    await farm.close();
  }
}

function positiveNumber(text: string | undefined, what: string): number {
  const n = Number(text);
  if (text === undefined || !/^\d+(\.\d+)?$/.test(text) || !(n > 0) || n > 1e6)
    throw invalid(`${what} '${text ?? ''}' is not a positive number`);
  return n;
}

/** A session capacity: a whole number, or none. */
function capacityOf(text: string | undefined): number | null {
  if (text === 'none') return null;
  if (!/^\d{1,6}$/.test(text ?? '')) throw invalid(`capacity '${text ?? ''}' is not a whole number or none`);
  return Number(text);
}

function json(value: unknown): string[] {
  return [JSON.stringify(value, null, 2)];
}

function sessionRows(sessions: FarmSession[]): string[] {
  return table(
    ['SESSION', 'USER', 'SERVER', 'STATUS', 'DISPLAY', 'CLIENT', 'STARTED', 'LAST CHANGE'],
    sessions.map((s) => [
      s.sessionId,
      s.uname,
      s.server,
      s.status,
      s.display,
      s.client,
      s.initTime.replace('T', ' '),
      s.lastTime.replace('T', ' '),
    ]),
  );
}

function nodeRows(nodes: FarmNode[]): string[] {
  return table(
    ['SERVER', 'STATE', 'WEIGHT', 'CAPACITY', 'RUNNING', 'SUSPENDED', 'LOAD/CORE', 'MEM AVAILABLE', 'LAST SEEN', 'VERSION'],
    nodes.map((n) => [
      n.server,
      n.state,
      n.weight,
      n.capacity,
      n.load?.sessions.R ?? 0,
      n.load?.sessions.S ?? 0,
      n.load ? n.load.loadPerCore.toFixed(2) : null,
      bytes(n.load?.memAvailableBytes),
      `${Math.round(n.secondsSinceSeen)} s ago`,
      n.version,
    ]),
  );
}

export async function runFarmCommand(command: FarmCommand, argv: string[]): Promise<CommandResult> {
  if (process.getuid?.() !== 0) throw new SessionDbError('denied', `${command} is for root`);
  const spec = {
    sessions: { user: { type: 'string' }, server: { type: 'string' }, status: { type: 'string' }, 'older-than': { type: 'string' } },
    terminate: { user: { type: 'string' }, server: { type: 'string' } },
    suspend: { user: { type: 'string' }, server: { type: 'string' } },
    place: { user: { type: 'string' }, explain: { type: 'boolean' } },
  } as const;
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: { ...COMMON, ...((spec as Record<string, object>)[command] ?? {}) } as typeof COMMON &
      (typeof spec)['sessions'] &
      (typeof spec)['place'],
  });
  const configDir = values.config ?? DEFAULT_CONFIG_DIR;
  const here = parseServer(values.hostname ?? hostname(), '--hostname');
  const user = values.user === undefined ? undefined : parseUserName(values.user, '--user');
  const server = values.server === undefined ? undefined : parseServer(values.server, '--server');
  const arity = (n: number) => {
    if (positionals.length !== n) throw invalid(`${command} takes ${n} argument(s); see x2go-sessiondb --help`);
  };
  const timeout = () => loadSessiondSettings(configDir).nodeTimeoutS;

  switch (command) {
    case 'sessions': {
      arity(0);
      const olderThan = values['older-than'];
      const olderThanS = olderThan === undefined ? undefined : parseDuration(olderThan);
      if (olderThan !== undefined && olderThanS === undefined)
        throw invalid(`--older-than '${olderThan}' is not a duration (e.g. 90s, 30m, 2h, 7d)`);
      const status = values.status === undefined ? undefined : parseStatus(values.status, '--status');
      const sessions = await withFarm(configDir, (farm) =>
        farm.sessions({
          ...(user ? { user } : {}),
          ...(server ? { server } : {}),
          ...(status ? { status } : {}),
          ...(olderThanS !== undefined ? { olderThanS } : {}),
        }),
      );
      return { lines: values.json ? json(sessions) : sessions.length ? sessionRows(sessions) : [], code: 0 };
    }
    case 'terminate':
    case 'suspend': {
      const action: AdminAction = command;
      if (positionals.length > 0 === (user !== undefined))
        throw invalid(`${command} takes session ids or --user U (one of them); see x2go-sessiondb --help`);
      if (server && !user) throw invalid('--server goes with --user');
      const ids = positionals.map((p) => parseSessionId(p));
      return withFarm(configDir, async (farm) => {
        const all = await farm.sessions({ ...(user ? { user } : {}), ...(server ? { server } : {}) });
        const errors: string[] = [];
        let targets: FarmSession[];
        if (user) targets = all.filter((s) => actionable(action, s) === undefined);
        else {
          targets = [];
          for (const id of ids) {
            const s = all.find((x) => x.sessionId === id);
            const why = s ? actionable(action, s) : `no session ${id}`;
            if (why) errors.push(why);
            else if (s) targets.push(s);
          }
        }
        const results = await carryOut(farm, action, targets, here, await farm.nodes(timeout()));
        for (const r of results) if (!r.ok) errors.push(r.outcome);
        const ok = results.filter((r) => r.ok);
        const lines = values.json ? json(results) : ok.map((r) => r.outcome);
        if (!values.json && user && targets.length === 0) lines.push(`${user} has no session to ${action}${server ? ` on ${server}` : ''}`);
        return { lines, errors, code: errors.length ? 1 : 0 };
      });
    }
    case 'nodes': {
      arity(0);
      const nodes = await withFarm(configDir, (farm) => farm.nodes(timeout()));
      return {
        lines: values.json
          ? json(nodes)
          : nodes.length
            ? nodeRows(nodes)
            : ['no node registered (a node registers when its x2gosessiond runs on PostgreSQL)'],
        code: 0,
      };
    }
    case 'drain':
    case 'undrain':
    case 'weight':
    case 'capacity': {
      arity(command === 'drain' || command === 'undrain' ? 1 : 2);
      const target = parseServer(positionals[0] ?? '', 'server');
      const value = positionals[1];
      const change =
        command === 'drain'
          ? { state: 'draining' as const }
          : command === 'undrain'
            ? { state: 'active' as const }
            : command === 'weight'
              ? { weight: positiveNumber(value, 'weight') }
              : { capacity: capacityOf(value) };
      const found = await withFarm(configDir, (farm) => farm.setNode(target, change));
      if (!found)
        throw new SessionDbError(
          'not-found',
          `no node ${target} in the registry (a node registers when its x2gosessiond runs); see x2go-sessiondb nodes`,
        );
      const said = {
        drain: `${target}: draining (takes no new session; keeps and resumes its own)`,
        undrain: `${target}: active`,
        weight: `${target}: weight ${value}`,
        capacity: `${target}: capacity ${value}`,
      }[command];
      return { lines: [said], code: 0 };
    }
    case 'place': {
      arity(0);
      if (!user) throw invalid('place needs --user U');
      const placement = await withFarm(configDir, async (farm) =>
        place({
          user,
          nodes: await farm.nodes(timeout()),
          sessions: await farm.sessions({}),
          // The reservation's own rule (x2gosessionlimit's), as the reservation will apply it.
          limit: sessionLimitOf(loadSettings(configDir).sessionLimits, user, () => groupsOfUser(user)),
          here,
        }),
      );
      const code = placement.server ? 0 : 1;
      if (values.json) return { lines: json(placement), code };
      const lines = [placement.server ? `${placement.server}: ${placement.reason}` : `nowhere: ${placement.reason}`];
      if (values.explain) {
        lines.push(
          ...table(
            ['SERVER', 'STATE', 'SESSIONS', 'CAPACITY', 'WEIGHT', 'SCORE', 'LOAD/CORE', 'MEM AVAILABLE', 'NOTE'],
            placement.candidates.map((c) => [
              c.server,
              c.state,
              c.sessions,
              c.capacity,
              c.weight,
              c.score.toFixed(2),
              c.loadPerCore?.toFixed(2),
              bytes(c.memAvailableBytes),
              c.server === placement.server ? 'chosen' : (c.excluded ?? ''),
            ]),
          ),
        );
      }
      return { lines, code };
    }
  }
}
