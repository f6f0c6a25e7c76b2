// SQLite's part of x2gosql/sql: where the file is. Read on every helper call, so nothing here
// loads the driver; the account lookup for the reference's default location happens only here,
// for this backend.

import { isAbsolute, join, resolve } from 'node:path';
import type { SettingsParser } from '../../model/backend.js';
import { readScope } from '../../model/backend.js';
import { SessionDbError } from '../../model/errors.js';
import { lookupUser } from '../../system/accounts.js';

export interface SqliteSettings {
  readonly name: 'sqlite';
  /** The SQLite file, or undefined when neither configured nor derivable from the x2gouser account. */
  path: string | undefined;
  /** True when path is the reference's location (x2gouser's home), not configured. */
  pathIsDefault: boolean;
}

export const parseSqliteSettings: SettingsParser<SqliteSettings> = (source) => {
  if (readScope(source) !== 'farm') {
    throw new SessionDbError('config', `${source.file}: scope=per-server needs backend=postgres (a SQLite database serves one server)`);
  }
  // Our addition to the file: [sqlite] path=..., relative to the config directory.
  const configured = source.values.get('sqlite.path');
  if (configured) {
    return { name: 'sqlite', path: isAbsolute(configured) ? configured : resolve(source.configDir, configured), pathIsDefault: false };
  }
  // The reference's location: the home directory of the x2gouser account.
  const home = lookupUser('x2gouser')?.home;
  return { name: 'sqlite', path: home ? join(home, 'x2go_sessions') : undefined, pathIsDefault: true };
};
