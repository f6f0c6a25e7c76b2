// [sessiond] of x2goserver.conf: the resident service's farm settings (heartbeat, node timeout).
// Read only by x2gosessiond and x2go-sessiondb's farm commands, never on a helper call, so it
// lives apart from config.ts (which every helper call reads).

import { readFileSync } from 'node:fs';
import { SessionDbError } from '../model/errors.js';
import { serverConfigFile } from './config.js';
import { type IniFile, parseIni } from './ini.js';

export interface SessiondSettings {
  /** A node not seen for this long is down ([sessiond] node_timeout, default 60 s). */
  nodeTimeoutS: number;
  /** How often the service records its heartbeat ([sessiond] heartbeat, default 5 s). */
  heartbeatS: number;
  /** [sessiond] suspended_max_age= and its per-user and per-group sections (expiry; off by default). */
  suspendedMaxAge: ExpiryPolicy;
  /** A finished (F) row older than this should have been purged by x2gocleansessions ([sessiond] purge_age, default 1 h; doctor). */
  purgeAgeS: number;
}

/**
 * How long a session may stay suspended, in seconds, in the style of x2goserver.conf's [limit
 * users]/[limit groups]: [suspended_max_age users] and [suspended_max_age groups] give values per
 * user and per group, [sessiond] suspended_max_age= the default. 0 (or off, never) is "never".
 */
export interface ExpiryPolicy {
  /** Undefined: off. */
  default: number | undefined;
  users: ReadonlyMap<string, number>;
  groups: ReadonlyMap<string, number>;
}

const NO_EXPIRY: ExpiryPolicy = { default: undefined, users: new Map(), groups: new Map() };

export const DEFAULT_SESSIOND: SessiondSettings = { nodeTimeoutS: 60, heartbeatS: 5, purgeAgeS: 3600, suspendedMaxAge: NO_EXPIRY };

/** Seconds until a suspended session of `user` (in `groups`) expires; undefined: never. */
export function suspendedMaxAgeOf(policy: ExpiryPolicy, user: string, groups: () => readonly string[]): number | undefined {
  const own = policy.users.get(user);
  if (own !== undefined) return own === 0 ? undefined : own;
  if (policy.groups.size > 0) {
    const values = groups().flatMap((g) => {
      const v = policy.groups.get(g);
      return v === undefined ? [] : [v];
    });
    // As x2gosessionlimit: a group without a limit (0) wins; else the most generous group's.
    if (values.includes(0)) return undefined;
    if (values.length > 0) return Math.max(...values);
  }
  return policy.default;
}

const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** "60", "60s", "2m", "1h", "7d" as seconds; undefined when it is none of these. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,7})\s*([smhd]?)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (UNITS[m[2] ?? ''] ?? 1);
}

/** x2goserver.conf as the service's settings read it: a missing file is an empty one. */
export function readServerConf(configDir: string): { file: string; ini: IniFile } {
  const file = serverConfigFile(configDir);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SessionDbError('config', `cannot read ${file}`, { cause: err });
  }
  return { file, ini: parseIni(text, file) };
}

export function loadSessiondSettings(configDir: string): SessiondSettings {
  const { file, ini } = readServerConf(configDir);
  const read = (key: string, fallback: number, min: number): number => {
    const value = ini.get(`sessiond.${key}`);
    if (value === undefined || value === '') return fallback;
    const seconds = parseDuration(value);
    if (seconds === undefined || seconds < min) {
      throw new SessionDbError('config', `${file}: [sessiond] ${key}=${value} is not a duration of at least ${min} s (e.g. 60, 90s, 2m)`);
    }
    return seconds;
  };
  const heartbeatS = read('heartbeat', DEFAULT_SESSIOND.heartbeatS, 1);
  const nodeTimeoutS = read('node_timeout', DEFAULT_SESSIOND.nodeTimeoutS, 2);
  if (nodeTimeoutS <= heartbeatS) {
    throw new SessionDbError('config', `${file}: [sessiond] node_timeout=${nodeTimeoutS} must be longer than heartbeat=${heartbeatS}`);
  }
  const age = (key: string, value: string): number => {
    if (/^(off|never)$/i.test(value.trim())) return 0;
    const seconds = parseDuration(value);
    if (seconds === undefined) throw new SessionDbError('config', `${file}: ${key}=${value} is not a duration (e.g. 12h, 7d) or off`);
    return seconds;
  };
  const section = (name: string) =>
    new Map(
      [...ini]
        .filter(([key]) => key.startsWith(`${name}.`))
        .map(([key, value]) => [key.slice(name.length + 1), age(`[${name}] ${key.slice(name.length + 1)}`, value)]),
    );
  const fallback = ini.get('sessiond.suspended_max_age');
  const suspendedMaxAge: ExpiryPolicy = {
    default: fallback === undefined || fallback === '' ? undefined : age('[sessiond] suspended_max_age', fallback) || undefined,
    users: section('suspended_max_age users'),
    groups: section('suspended_max_age groups'),
  };
  return { nodeTimeoutS, heartbeatS, purgeAgeS: read('purge_age', DEFAULT_SESSIOND.purgeAgeS, 1), suspendedMaxAge };
}
