// Connecting with postgres.js: one connection per process, a bounded connect timeout, the
// reference's ssl modes, and several hosts (host=db1,db2 in [postgres]) with failover to the
// one that accepts writes. Every option is given explicitly, so PG* variables in the caller's
// environment cannot redirect us.

import postgres from 'postgres';
import type { PostgresSettings } from '../../config/config.js';
import type { Login } from './credentials.js';

export type Sql = postgres.Sql;

/** How long to wait for a server before saying it cannot be reached (the issue allows <= 5 s). */
export const CONNECT_TIMEOUT_S = 5;

/** libpq's modes in postgres.js terms. "allow" becomes "prefer": both accept either kind of server. */
function sslOption(ssl: PostgresSettings['ssl']): false | 'prefer' | 'require' {
  return ssl === 'disable' ? false : ssl === 'require' ? 'require' : 'prefer';
}

/** host:port as the administrator configured it, for messages. */
export function describeTarget(settings: PostgresSettings): string {
  const hosts = settings.host.split(',').map((h) => h.trim());
  return hosts.map((h) => (h.includes(':') ? h : `${h}:${settings.port}`)).join(',');
}

export type Tx = postgres.TransactionSql;

export interface Connection {
  /** A pool of one connection, already connected. */
  sql: Sql;
  close(): Promise<void>;
}

/**
 * Connects and checks that the server answers, within the connect timeout per configured host.
 * The deadline is ours: postgres.js reconnects without end when a server (or a middlebox)
 * accepts the TCP connection and closes it, and a helper must never hang at a login.
 */
export async function connect(settings: PostgresSettings, login: Login, database = settings.database): Promise<Connection> {
  const sql = pg(settings, login, database);
  const hosts = settings.host.split(',').length;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error('connect timeout'), { code: 'CONNECT_TIMEOUT' })),
      CONNECT_TIMEOUT_S * 1000 * hosts,
    );
  });
  try {
    await Promise.race([sql`select 1`, deadline]);
    return { sql, close: () => sql.end({ timeout: 1 }) };
  } catch (err) {
    // Not awaited: after a failed connect the pool keeps retrying its queue and end() may wait
    // for that; the process edge exits once the error is reported.
    void sql.end({ timeout: 0 });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function pg(settings: PostgresSettings, login: Login, database: string): Sql {
  const multiHost = settings.host.includes(',');
  return postgres({
    host: settings.host,
    port: settings.port,
    database,
    username: login.user,
    password: login.password,
    ssl: sslOption(settings.ssl),
    max: 1,
    connect_timeout: CONNECT_TIMEOUT_S,
    idle_timeout: 0,
    prepare: false,
    fetch_types: false,
    onnotice: () => {},
    connection: { application_name: 'x2godb' },
    ...(multiHost ? { target_session_attrs: 'read-write' as const } : {}),
  });
}
