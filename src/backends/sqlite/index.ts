// The SQLite backend, as the factory in ../index.ts loads it.

import type { Settings } from '../../config/config.js';
import { SessionDbError } from '../../model/errors.js';
import type { Backend } from '../backend.js';
import { sharedSqlite } from './shared.js';
import { SqliteStore } from './store.js';

function pathOf(settings: Settings): string {
  if (settings.sqlitePath === undefined) {
    throw new SessionDbError(
      'config',
      `no x2gouser account to hold x2go_sessions; set [sqlite] path=... in ${settings.sqlFile}`,
    );
  }
  return settings.sqlitePath;
}

export const sqliteBackend: Backend = {
  openStore: (settings) => Promise.resolve(SqliteStore.open(pathOf(settings))),
  openShared: async (settings) => sharedSqlite(pathOf(settings)),
  blocksThread: true,
  // Migrations and file handling are x2godbadmin's alone: kept out of the helpers' start-up.
  openAdmin: async (settings) =>
    new (await import('./admin.js')).SqliteAdmin(pathOf(settings), settings.sqlitePathIsDefault),
};
