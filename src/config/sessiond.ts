// [sessiond] of x2gosql/sql: how the resident service and the farm's maintenance behave. Read by
// the service and by x2go-sessiondb's admin commands, never on a helper call.

import { readFileSync } from 'node:fs';
import { SessionDbError } from '../model/errors.js';
import { parseDuration } from './duration.js';
import { parseIni } from './ini.js';
import { sqlConfigFile } from './config.js';

export interface SessiondSettings {
  /** A node not seen for this long (seconds) is down. */
  nodeTimeout: number;
  /** A finished (F) row older than this (seconds) should have been purged by x2gocleansessions. */
  purgeAge: number;
}

export const SESSIOND_DEFAULTS: SessiondSettings = { nodeTimeout: 60, purgeAge: 3600 };

export function loadSessiondSettings(configDir: string): SessiondSettings {
  const file = sqlConfigFile(configDir);
  let values: ReadonlyMap<string, string>;
  try {
    values = parseIni(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return SESSIOND_DEFAULTS;
    throw err;
  }
  const duration = (key: string, fallback: number): number => {
    const text = values.get(`sessiond.${key}`);
    if (text === undefined || text === '') return fallback;
    const seconds = parseDuration(text);
    if (seconds === undefined || seconds < 1) {
      throw new SessionDbError('config', `${file}: [sessiond] ${key}=${text} is not a duration (e.g. 60, 90s, 30m, 12h, 7d)`);
    }
    return seconds;
  };
  return {
    nodeTimeout: duration('node_timeout', SESSIOND_DEFAULTS.nodeTimeout),
    purgeAge: duration('purge_age', SESSIOND_DEFAULTS.purgeAge),
  };
}
