// PostgreSQL's part of x2gosql/sql: the [postgres] section as the reference reads it, our
// database= and the display/port scope. Read on every helper call, so nothing here loads the
// driver.
//
// host= may name several servers (a primary and its standbys), as libpq's host= does: ports
// either one for all (port=5432), one per host (port=5432,5433: libpq's form, which the
// reference's Perl code passes on to libpq unchanged) or written with the host (db2:5433, ours).
// They are parsed here, once, and refused here when malformed: connection.ts only uses them.

import type { Scope, SettingsParser } from '../../model/backend.js';
import { readScope } from '../../model/backend.js';
import { SessionDbError } from '../../model/errors.js';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require';

/** One configured server. */
export interface PostgresTarget {
  host: string;
  port: number;
}

export interface PostgresSettings {
  readonly name: 'postgres';
  /**
   * The servers of host= with their ports, in the configured order. With more than one we
   * connect to the first that is not a standby (see connection.ts).
   */
  targets: readonly PostgresTarget[];
  dbadmin: string;
  ssl: SslMode;
  database: string;
  /** Display numbers and ports unique across the farm, or per server (switched by x2godbadmin). */
  scope: Scope;
}

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require'];

/** A host name or IPv4 address (letters, digits, dots, hyphens, underscores), or an IPv6 address. */
const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/;

function tcpPort(text: string, file: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new SessionDbError('config', `${file}: [postgres] port '${text}' is not a TCP port`);
  }
  return port;
}

/** host= and port= as a list of servers; one line naming the file when they do not fit. */
export function parseTargets(hostText: string, portText: string, file: string): PostgresTarget[] {
  const entries = hostText.split(',').map((h) => h.trim());
  const ports = portText.split(',').map((p) => tcpPort(p.trim(), file));
  if (ports.length !== 1 && ports.length !== entries.length) {
    throw new SessionDbError(
      'config',
      `${file}: [postgres] port= names ${ports.length} ports for ${entries.length} hosts; give one port for all or one per host`,
    );
  }
  return entries.map((entry, i) => {
    // [v6]:port, name:port, or a bare name or address (an IPv6 address has several colons).
    const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(entry);
    const named = bracketed ? undefined : /^([^:]*):([^:]*)$/.exec(entry);
    const host = bracketed?.[1] ?? named?.[1] ?? entry;
    const ownPort = bracketed?.[2] ?? named?.[2];
    if (!host || !HOST.test(host)) {
      throw new SessionDbError('config', `${file}: [postgres] host '${entry}' is not a host name or address`);
    }
    return { host, port: ownPort === undefined ? (ports[ports.length === 1 ? 0 : i] as number) : tcpPort(ownPort, file) };
  });
}

export const parsePostgresSettings: SettingsParser<PostgresSettings> = (source) => {
  const { file, values } = source;
  const scope = readScope(source);
  const ssl = values.get('postgres.ssl') || 'prefer';
  const sslMode = SSL_MODES.find((m) => m === ssl);
  if (!sslMode) throw new SessionDbError('config', `${file}: [postgres] ssl must be one of ${SSL_MODES.join(', ')}`);
  return {
    name: 'postgres',
    targets: parseTargets(values.get('postgres.host') || 'localhost', values.get('postgres.port') || '5432', file),
    dbadmin: values.get('postgres.dbadmin') || 'postgres',
    ssl: sslMode,
    // Ours, for tests and for several X2Go installations on one cluster; the reference's name otherwise.
    database: values.get('postgres.database') || 'x2go_sessions',
    scope,
  };
};

/** host:port of each configured server, for messages and status. */
export function describeTargets(targets: readonly PostgresTarget[]): string {
  return targets.map((t) => `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`).join(',');
}
