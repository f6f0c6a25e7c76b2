// PostgreSQL's part of x2gosql/sql: the [postgres] section as the reference reads it, our
// database= and the display/port scope. Read on every helper call, so nothing here loads the
// driver.

import type { Scope, SettingsParser } from '../../model/backend.js';
import { readScope } from '../../model/backend.js';
import { SessionDbError } from '../../model/errors.js';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require';

export interface PostgresSettings {
  readonly name: 'postgres';
  /** One host or several (host=db1,db2, each may carry :port), tried in turn. */
  host: string;
  port: number;
  dbadmin: string;
  ssl: SslMode;
  database: string;
  /** Display numbers and ports unique across the farm, or per server (switched by x2godbadmin). */
  scope: Scope;
}

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require'];

export const parsePostgresSettings: SettingsParser<PostgresSettings> = (source) => {
  const { file, values } = source;
  const scope = readScope(source);
  const ssl = values.get('postgres.ssl') || 'prefer';
  const sslMode = SSL_MODES.find((m) => m === ssl);
  if (!sslMode) throw new SessionDbError('config', `${file}: [postgres] ssl must be one of ${SSL_MODES.join(', ')}`);
  const portText = values.get('postgres.port') || '5432';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new SessionDbError('config', `${file}: [postgres] port '${portText}' is not a TCP port`);
  }
  return {
    name: 'postgres',
    host: values.get('postgres.host') || 'localhost',
    port,
    dbadmin: values.get('postgres.dbadmin') || 'postgres',
    ssl: sslMode,
    // Ours, for tests and for several X2Go installations on one cluster; the reference's name otherwise.
    database: values.get('postgres.database') || 'x2go_sessions',
    scope,
  };
};
