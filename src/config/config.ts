// Reads the two files the reference reads: <dir>/x2gosql/sql (which backend, how to reach it)
// and <dir>/x2goserver.conf (telekinesis, log level). <dir> is /etc/x2go unless overridden by
// --config or X2GO_CONFIG_DIR; the override is refused by the caller when running setgid.

import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { SessionDbError } from '../model/errors.js';
import { DEFAULT_QUOTA, QUOTA_KEYS, type QuotaLimits } from '../model/quota.js';
import { lookupUser } from '../system/accounts.js';
import { parseIni, type IniFile } from './ini.js';

export const DEFAULT_CONFIG_DIR = '/etc/x2go';
export const CONFIG_DIR_ENV = 'X2GO_CONFIG_DIR';

export type BackendName = 'sqlite' | 'postgres';
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require';

export interface PostgresSettings {
  host: string;
  port: number;
  dbadmin: string;
  ssl: SslMode;
  database: string;
}

/**
 * Where display numbers and ports must be unique: across the farm (the reference's schema, and
 * what Perl nodes expect) or per server (ours, PostgreSQL only, switched by x2godbadmin).
 */
export type Scope = 'farm' | 'per-server';

export interface Settings {
  configDir: string;
  sqlFile: string;
  backend: BackendName;
  scope: Scope;
  /** The SQLite file, or undefined when neither configured nor derivable from the x2gouser account. */
  sqlitePath: string | undefined;
  /** True when sqlitePath is the reference's location (x2gouser's home), not configured. */
  sqlitePathIsDefault: boolean;
  postgres: PostgresSettings;
  /** x2goserver.conf [telekinesis] enable, read with the reference's is_true. */
  telekinesis: boolean;
  logLevel: string;
  /** [quota] of x2gosql/sql: what one user may hold (see model/quota.ts). */
  quota: QuotaLimits;
}

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

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require'];

function postgresSettings(sql: IniFile, file: string): PostgresSettings {
  const ssl = sql.get('postgres.ssl') || 'prefer';
  const sslMode = SSL_MODES.find((m) => m === ssl);
  if (!sslMode) throw new SessionDbError('config', `${file}: [postgres] ssl must be one of ${SSL_MODES.join(', ')}`);
  const portText = sql.get('postgres.port') || '5432';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new SessionDbError('config', `${file}: [postgres] port '${portText}' is not a TCP port`);
  }
  return {
    host: sql.get('postgres.host') || 'localhost',
    port,
    dbadmin: sql.get('postgres.dbadmin') || 'postgres',
    ssl: sslMode,
    // Ours, for tests and for several X2Go installations on one cluster; the reference's name otherwise.
    database: sql.get('postgres.database') || 'x2go_sessions',
  };
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

export function loadSettings(configDir: string): Settings {
  const sqlFile = sqlConfigFile(configDir);
  const sql = readConfig(sqlFile, true);
  const server = readConfig(serverConfigFile(configDir), false);

  const backend = sql.get('default.backend');
  if (backend !== 'sqlite' && backend !== 'postgres') {
    throw new SessionDbError(
      'config',
      `${sqlFile}: backend=${backend ?? ''} is not supported (use backend=sqlite or backend=postgres)`,
    );
  }

  const scope = sql.get('default.scope') || 'farm';
  if (scope !== 'farm' && scope !== 'per-server') {
    throw new SessionDbError('config', `${sqlFile}: scope=${scope} is not one of farm, per-server`);
  }
  if (scope === 'per-server' && backend !== 'postgres') {
    throw new SessionDbError('config', `${sqlFile}: scope=per-server needs backend=postgres (a SQLite database serves one server)`);
  }

  // Our addition to the file: [sqlite] path=..., relative to the config directory.
  const configured = sql.get('sqlite.path');
  let sqlitePath: string | undefined;
  if (configured) {
    sqlitePath = isAbsolute(configured) ? configured : resolve(configDir, configured);
  } else {
    // The reference's location: the home directory of the x2gouser account.
    const home = lookupUser('x2gouser')?.home;
    sqlitePath = home ? join(home, 'x2go_sessions') : undefined;
  }

  return {
    configDir,
    sqlFile,
    backend,
    scope,
    sqlitePath,
    sqlitePathIsDefault: !configured,
    postgres: postgresSettings(sql, sqlFile),
    telekinesis: isTrue(server.get('telekinesis.enable')),
    logLevel: server.get('log.loglevel') || 'notice',
    quota: quotaSettings(sql, sqlFile),
  };
}
