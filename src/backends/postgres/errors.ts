// The one place where PostgreSQL's and the network's errors become SessionDbErrors: one line
// that names the server and the cause, never SQL text or bound values. SQLSTATE codes are named
// in sqlstate.ts; the others here are the network's and postgres.js's.

import { SessionDbError } from '../../model/errors.js';
import { NO_PRIMARY } from './dialer.js';
import { SQLSTATE } from './sqlstate.js';

export type ConflictMessages = Readonly<Record<string, string>>;

interface DriverError {
  code?: unknown;
  constraint_name?: unknown;
  errno?: unknown;
  message?: unknown;
}

export function mapPgError(err: unknown, action: string, target: string, conflicts: ConflictMessages = {}): SessionDbError {
  if (err instanceof SessionDbError) return err;
  const e = (err ?? {}) as DriverError;
  const code = typeof e.code === 'string' ? e.code : '';
  const constraint = typeof e.constraint_name === 'string' ? e.constraint_name : '';
  const at = `PostgreSQL at ${target}`;
  const wrap = (kind: SessionDbError['code'], message: string) => new SessionDbError(kind, message, { cause: err });

  switch (code) {
    case 'ECONNREFUSED':
      return wrap('unavailable', `cannot connect to ${at}: connection refused`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return wrap('unavailable', `cannot connect to ${at}: host name not found`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return wrap('unavailable', `cannot connect to ${at}: host unreachable`);
    case 'CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return wrap('unavailable', `cannot connect to ${at}: no answer within the connect timeout`);
    case NO_PRIMARY:
      return wrap('unavailable', `cannot connect to ${at}: none of them accepts writes (standbys only, or down; promote one)`);
    case SQLSTATE.readOnlySqlTransaction:
      return wrap('unavailable', `${action}: ${at} accepts no writes (a standby, or default_transaction_read_only)`);
    case 'CONNECTION_CLOSED':
    case 'CONNECTION_DESTROYED':
    case 'ECONNRESET':
      return wrap('unavailable', `${action}: the connection to ${at} was lost`);
    case SQLSTATE.invalidPassword:
      return wrap('unavailable', `${at} refused the password (check the password file, or run x2godbadmin --adduser again)`);
    case SQLSTATE.invalidAuthorizationSpecification:
      return wrap('unavailable', `${at} refused the login (role missing or not allowed by pg_hba.conf; x2godbadmin --adduser)`);
    case SQLSTATE.invalidCatalogName:
      return wrap('unavailable', `${at} has no session database (run x2godbadmin --createdb)`);
    case SQLSTATE.insufficientPrivilege:
      return wrap('denied', `${action}: ${at} denied it (missing grant, or not your row)`);
    case SQLSTATE.undefinedTable:
    case SQLSTATE.undefinedColumn:
    case SQLSTATE.undefinedObject:
      return wrap('unavailable', `${action}: ${at} lacks the session tables (run x2godbadmin --updatedb)`);
    case SQLSTATE.tooManyPorts:
      return wrap('conflict', `${action}: the session holds 16 ports already`);
    case SQLSTATE.uniqueViolation:
      return wrap('conflict', conflicts[constraint] ?? `${action}: the change conflicts with a stored row`);
    case SQLSTATE.foreignKeyViolation:
      return wrap('not-found', `${action}: the session does not exist`);
    case SQLSTATE.checkViolation:
    case SQLSTATE.invalidTextRepresentation:
      return wrap('invalid', `${action}: ${at} refused a value (${constraint || 'format'})`);
    case SQLSTATE.adminShutdown:
    case SQLSTATE.crashShutdown:
    case SQLSTATE.cannotConnectNow:
      return wrap('unavailable', `${action}: ${at} is shutting down or starting up`);
    default:
      if (code.startsWith(SQLSTATE.connectionExceptionClass)) return wrap('unavailable', `cannot connect to ${at} (${code})`);
      return wrap('failed', `${action}: ${at} reported error ${code || 'unknown'}`);
  }
}
