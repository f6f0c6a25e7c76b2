// Connecting with postgres.js: one connection per process, a bounded connect timeout, the
// reference's ssl modes, and several hosts (host=db1,db2 in [postgres]) with failover to the
// one that accepts writes. Every option is given explicitly, so PG* variables in the caller's
// environment cannot redirect us.

import { readFileSync } from 'node:fs';
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
  /** A pool of one connection; it connects with the first query. */
  sql: Sql;
  /**
   * Runs an operation, bounded by the connect timeout until the connection has proved itself
   * once. The deadline is ours: postgres.js reconnects without end when a server (or a
   * middlebox) accepts the TCP connection and closes it, and a helper must never hang at a login.
   */
  guard<T>(operation: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * A connection to the configured server(s) as `login`. Nothing is sent until the first query,
 * which is also what proves the connection (no separate round trip for that).
 */
export function connect(settings: PostgresSettings, login: Login, database = settings.database): Connection {
  const sql = pg({ ...settings, host: settings.host.split(',').map(address).join(',') }, login, database);
  const limit = CONNECT_TIMEOUT_S * 1000 * settings.host.split(',').length;
  let proven = false;
  return {
    sql,
    close: () => close(sql),
    guard: async (operation) => {
      if (proven) return operation();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('connect timeout'), { code: 'CONNECT_TIMEOUT' })), limit);
      });
      try {
        const result = await Promise.race([operation(), deadline]);
        proven = true;
        return result;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Ends the connection without waiting for the server to acknowledge: every answer the caller
 * got was already committed, and waiting for the goodbye costs a helper call about 3 ms.
 */
function close(sql: Sql): Promise<void> {
  void sql.end({ timeout: 0 });
  return Promise.resolve();
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The first IPv4 address /etc/hosts gives a name, as the resolver's "files" source would. */
function fromHostsFile(name: string): string | undefined {
  try {
    for (const line of readFileSync('/etc/hosts', 'utf8').split('\n')) {
      const [ip, ...names] = (line.split('#')[0] ?? '').trim().split(/\s+/);
      if (ip && IPV4.test(ip) && names.includes(name)) return ip;
    }
  } catch {
    // no hosts file: the resolver decides
  }
  return undefined;
}

/**
 * A configured host as an IPv4 address where /etc/hosts knows one (host:port kept). Node tests
 * every name it resolves or connects to against its IPv6 pattern, whose compilation costs each
 * helper call over 3 ms; an IPv4 address skips that test. Other names go to the resolver.
 */
function address(entry: string): string {
  const [host = '', port] = entry.trim().split(':');
  const ip = IPV4.test(host) ? undefined : fromHostsFile(host);
  if (ip === undefined) return entry.trim();
  return port === undefined ? ip : `${ip}:${port}`;
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
