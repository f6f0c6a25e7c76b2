// A user's session limit as x2gosessionlimit reads it from x2goserver.conf: [limit users] <user>=
// first, else the largest [limit groups] <group>= of the user's groups; 0 means unlimited.
// Placement (place) uses it to say that a user may start no session anywhere; the reservation's
// own in-transaction check is what enforces it.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { serverConfigFile } from '../config/config.js';
import { parseIni } from '../config/ini.js';

function groupsOf(user: string): string[] {
  try {
    return execFileSync('id', ['-Gn', '--', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split(/\s+/);
  } catch {
    return [];
  }
}

/** undefined: no limit. */
export function sessionLimit(configDir: string, user: string): number | undefined {
  let text = '';
  try {
    text = readFileSync(serverConfigFile(configDir), 'utf8');
  } catch {
    return undefined;
  }
  const ini = parseIni(text, serverConfigFile(configDir));
  const value = (key: string): number | undefined => {
    const v = ini.get(key);
    return v === undefined || v === '' || !/^\d+$/.test(v.trim()) ? undefined : Number(v);
  };
  const own = value(`limit users.${user}`);
  if (own !== undefined) return own === 0 ? undefined : own;
  let max: number | undefined;
  for (const group of groupsOf(user)) {
    const limit = value(`limit groups.${group}`);
    if (limit === 0) return undefined;
    if (limit !== undefined && (max === undefined || limit > max)) max = limit;
  }
  return max;
}
