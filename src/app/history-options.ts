// The options of `history` (x2godb history, x2go-sessiondb history), validated before the
// database is opened: --user NAME, --server HOST, --since WHEN (or --user=NAME ...), each at
// most once. WHEN is a
// date or time in ISO 8601 (2026-11-30, 2026-11-30T12:00, 2026-11-30T12:00:00Z; without a zone,
// local time, date-only is midnight local time), or an age: 90m, 12h, 7d (that long ago).

import { invalid } from '../model/errors.js';
import { parseServer, parseUserName, shown } from '../model/validate.js';

export interface HistoryOptions {
  user?: string;
  server?: string;
  since?: Date;
}

const AGE = /^(\d{1,6})([smhd])$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseSince(value: string, now = Date.now()): Date {
  const age = AGE.exec(value);
  if (age) return new Date(now - Number(age[1]) * (UNIT_MS[age[2] ?? 's'] ?? 1000));
  const m = ISO.exec(value);
  let at: Date | undefined;
  if (m) {
    const [, y, mo, d, h = '00', mi = '00', sec = '00', ms = '0', zone] = m;
    const local = `${y}-${mo}-${d}T${h}:${mi}:${sec}.${ms.padEnd(3, '0')}`;
    at = new Date(zone ? `${local}${zone === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')}` : local);
    // Date rolls 2026-02-31 over to March: refuse what does not name itself.
    if (!zone && (at.getFullYear() !== Number(y) || at.getMonth() + 1 !== Number(mo) || at.getDate() !== Number(d))) at = undefined;
  }
  if (!at || Number.isNaN(at.getTime())) {
    throw invalid(`--since '${shown(value)}' is neither a date or time (2026-11-30, 2026-11-30T12:00:00Z) nor an age (90m, 12h, 7d)`);
  }
  return at;
}

export function parseHistoryOptions(args: readonly string[]): HistoryOptions {
  const options: HistoryOptions = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? args[++i] : arg.slice(eq + 1);
    if (flag !== '--user' && flag !== '--server' && flag !== '--since') {
      throw invalid(`history: unknown option '${shown(flag)}' (use --user U, --server S, --since T)`);
    }
    if (value === undefined) throw invalid(`history: ${flag} needs a value`);
    const key = flag.slice(2) as keyof HistoryOptions;
    if (options[key] !== undefined) throw invalid(`history: ${flag} given twice`);
    if (key === 'user') options.user = parseUserName(value, '--user');
    else if (key === 'server') options.server = parseServer(value, '--server');
    else options.since = parseSince(value);
  }
  return options;
}
