// [sessiond] of x2goserver.conf: the resident service's farm settings (heartbeat, node timeout).
// Read only by x2gosessiond and x2go-sessiondb's farm commands, never on a helper call, so it
// lives apart from config.ts (which every helper call reads).

import { readFileSync } from 'node:fs';
import { SessionDbError } from '../model/errors.js';
import { serverConfigFile } from './config.js';
import { parseIni } from './ini.js';

export interface SessiondSettings {
  /** A node not seen for this long is down ([sessiond] node_timeout, default 60 s). */
  nodeTimeoutS: number;
  /** How often the service records its heartbeat ([sessiond] heartbeat, default 5 s). */
  heartbeatS: number;
  /** A finished (F) row older than this should have been purged by x2gocleansessions ([sessiond] purge_age, default 1 h; doctor). */
  purgeAgeS: number;
}

export const DEFAULT_SESSIOND: SessiondSettings = { nodeTimeoutS: 60, heartbeatS: 5, purgeAgeS: 3600 };

const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** "60", "60s", "2m", "1h", "7d" as seconds; undefined when it is none of these. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,7})\s*([smhd]?)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (UNITS[m[2] ?? ''] ?? 1);
}

export function loadSessiondSettings(configDir: string): SessiondSettings {
  const file = serverConfigFile(configDir);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SessionDbError('config', `cannot read ${file}`, { cause: err });
  }
  const ini = parseIni(text, file);
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
  return { nodeTimeoutS, heartbeatS, purgeAgeS: read('purge_age', DEFAULT_SESSIOND.purgeAgeS, 1) };
}
