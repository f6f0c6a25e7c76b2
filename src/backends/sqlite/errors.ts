// The one place where SQLite's errors become SessionDbErrors. Messages name what we were doing
// and what the administrator can do; the driver's own text stays in `cause`.

import { SessionDbError } from '../../model/errors.js';

/** Messages for constraint violations, by the column SQLite names ("sessions.display"). */
export type ConflictMessages = Readonly<Record<string, string>>;

export function mapSqliteError(err: unknown, action: string, conflicts: ConflictMessages = {}): SessionDbError {
  if (err instanceof SessionDbError) return err;
  const code = String((err as { code?: unknown }).code ?? '');
  const text = err instanceof Error ? err.message : String(err);

  // The row checks of migration 0004 name the rule they enforce (as PostgreSQL's constraints do).
  if (code === 'SQLITE_CONSTRAINT_TRIGGER' && /^x2go_[a-z_]+$/.test(text)) {
    return new SessionDbError('invalid', `${action}: the session database refuses the row (${text})`, { cause: err });
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    for (const [column, message] of Object.entries(conflicts)) {
      if (text.includes(column)) return new SessionDbError('conflict', message, { cause: err });
    }
    return new SessionDbError('conflict', `${action}: the change conflicts with a stored row`, { cause: err });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new SessionDbError('unavailable', `${action}: the session database stayed busy; try again`, { cause: err });
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return new SessionDbError(
      'unavailable',
      `${action}: cannot open the file (missing, or no access); create it with x2godbadmin --createdb`,
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_AUTH')) {
    return new SessionDbError('unavailable', `${action}: no write access to the session database`, { cause: err });
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new SessionDbError('unavailable', `${action}: the file is not a usable SQLite database`, { cause: err });
  }
  if (/no such (table|column)/.test(text)) {
    return new SessionDbError('unavailable', `${action}: the file lacks the session tables; run x2godbadmin --createdb or --updatedb`, {
      cause: err,
    });
  }
  return new SessionDbError('failed', `${action}: SQLite error ${code || 'unknown'}`, { cause: err });
}
