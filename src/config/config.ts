// Reads the two files the reference reads: <dir>/x2gosql/sql (which backend, how to reach it)
// and <dir>/x2goserver.conf (telekinesis, log level). <dir> is /etc/x2go unless overridden by
// --config or X2GO_CONFIG_DIR; the override is refused by the caller when running setgid.
// What is common to every backend is read here; the backend's own section (how to reach it) is
// read by the backend's settings parser, found through the registry by backend=.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BACKEND_NAMES, type BackendName, backendSettingsParser, isBackendName, type Settings } from '../backends/backend.js';
import { SessionDbError } from '../model/errors.js';
import { DEFAULT_QUOTA, QUOTA_KEYS, type QuotaLimits } from '../model/quota.js';
import { DEFAULT_HISTORY_DAYS, HISTORY_DAYS_KEY, MAX_HISTORY_DAYS } from '../model/history.js';
import type { SessionLimits } from '../model/session-limit.js';
import { parseIni, type IniFile } from './ini.js';

export const DEFAULT_CONFIG_DIR = '/etc/x2go';
export const CONFIG_DIR_ENV = 'X2GO_CONFIG_DIR';

export type { AnyBackendSettings, BackendName, Settings } from '../backends/backend.js';

export function sqlConfigFile(configDir: string): string {
  return join(configDir, 'x2gosql', 'sql');
}

export function serverConfigFile(configDir: string): string {
  return join(configDir, 'x2goserver.conf');
}

function readConfig(file: string, required: boolean): IniFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!required && code === 'ENOENT') return new Map();
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new SessionDbError('config', `cannot read ${file}: ${why} (set ${CONFIG_DIR_ENV} or pass --config DIR)`, {
      cause: err,
    });
  }
  return parseIni(text, file);
}

/** The reference's X2Go::Utils::is_true: a substring match, so "enable=yes" and "1" are true. */
export function isTrue(value: string | undefined): boolean {
  return value !== undefined && /(1|yes|Yes|YES|on|On|ON|True|true|TRUE)/.test(value);
}

/** Above this a quota protects nothing: there are 65,535 ports and fewer displays. */
const MAX_QUOTA = 65535;

/** Ours: [quota] sessions_per_user= and ports_per_user=, whole numbers; defaults when absent. */
function quotaSettings(sql: IniFile, file: string): QuotaLimits {
  const read = (key: string, fallback: number): number => {
    const text = sql.get(`quota.${key}`);
    if (text === undefined || text === '') return fallback;
    const n = Number(text);
    if (!/^\d{1,6}$/.test(text) || n < 1 || n > MAX_QUOTA) {
      throw new SessionDbError('config', `${file}: [quota] ${key}=${text} is not a whole number from 1 to ${MAX_QUOTA}`);
    }
    return n;
  };
  return {
    sessionsPerUser: read(QUOTA_KEYS.sessionsPerUser, DEFAULT_QUOTA.sessionsPerUser),
    portsPerUser: read(QUOTA_KEYS.portsPerUser, DEFAULT_QUOTA.portsPerUser),
  };
}

/** x2goserver.conf's [limit users] and [limit groups]: every entry, raw, as Config::Simple's param() gives it. */
function sessionLimits(server: IniFile): SessionLimits {
  const section = (name: string) =>
    [...server].filter(([key]) => key.startsWith(`${name}.`)).map(([key, value]) => [key.slice(name.length + 1), value] as const);
  return { users: section('limit users'), groups: section('limit groups') };
}

/** Ours: [sessiond] history_days= of x2goserver.conf (beside the service's other settings), whole days from 1; the default when absent. */
function historyDays(server: IniFile, file: string): number {
  const text = server.get(`sessiond.${HISTORY_DAYS_KEY}`);
  if (text === undefined || text === '') return DEFAULT_HISTORY_DAYS;
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > MAX_HISTORY_DAYS) {
    throw new SessionDbError(
      'config',
      `${file}: [sessiond] ${HISTORY_DAYS_KEY}=${text} is not a whole number of days from 1 to ${MAX_HISTORY_DAYS}`,
    );
  }
  return n;
}

/**
 * Another backend's settings from the same file, whatever backend= says: its own section only
 * (x2godbadmin --migrate-from-sqlite finds the SQLite file a server used before the switch).
 */
export function loadBackendSection(configDir: string, name: BackendName, overrides: Record<string, string> = {}): Settings['backend'] {
  const sqlFile = sqlConfigFile(configDir);
  const sql = readConfig(sqlFile, true);
  const own: IniFile = new Map([...[...sql].filter(([key]) => key.startsWith(`${name}.`)), ...Object.entries(overrides)]);
  return backendSettingsParser(name)({ file: sqlFile, configDir, values: own });
}

export function loadSettings(configDir: string): Settings {
  const sqlFile = sqlConfigFile(configDir);
  const sql = readConfig(sqlFile, true);
  const server = readConfig(serverConfigFile(configDir), false);

  const name = sql.get('default.backend');
  if (!isBackendName(name)) {
    throw new SessionDbError(
      'config',
      `${sqlFile}: backend=${name ?? ''} is not supported (use ${BACKEND_NAMES.map((n) => `backend=${n}`).join(' or ')})`,
    );
  }
  return {
    configDir,
    sqlFile,
    telekinesis: isTrue(server.get('telekinesis.enable')),
    logLevel: server.get('log.loglevel') || 'notice',
    quota: quotaSettings(sql, sqlFile),
    sessionLimits: sessionLimits(server),
    historyDays: historyDays(server, serverConfigFile(configDir)),
    // The backend's own section, read by the backend's own code.
    backend: backendSettingsParser(name)({ file: sqlFile, configDir, values: sql }),
  };
}
