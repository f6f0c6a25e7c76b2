// The SQLite backend, as the registry in ../backend.ts loads it.

import type { Backend, LegacyTraits, Settings } from '../../model/backend.js';
import { SessionDbError } from '../../model/errors.js';
import type { SqliteSettings } from './settings.js';
import { sharedSqlite } from './shared.js';
import { SqliteStore } from './store.js';

/** The reference prints telekinesis ports in every SQLite listing but the desktop-sharing ones. */
const SQLITE_TRAITS: LegacyTraits = {
  tekiColumns: { sessions: true, shadow: false, root: true },
  serverCounts: false,
};

function pathOf(settings: Settings<SqliteSettings>): string {
  if (settings.backend.path === undefined) {
    throw new SessionDbError('config', `no x2gouser account to hold x2go_sessions; set [sqlite] path=... in ${settings.sqlFile}`);
  }
  return settings.backend.path;
}

export const sqliteBackend: Backend<SqliteSettings> = {
  openStore: (settings) => Promise.resolve(SqliteStore.open(pathOf(settings))),
  openShared: async (settings) => sharedSqlite(pathOf(settings)),
  // Migrations and file handling are x2godbadmin's alone: kept out of the helpers' start-up.
  openAdmin: async (settings) => new (await import('./admin.js')).SqliteAdmin(pathOf(settings), settings.backend.pathIsDefault),
  openDoctor: async (settings) => new (await import('./doctor.js')).SqliteDoctor(pathOf(settings)),
  legacyTraits: () => SQLITE_TRAITS,
  describe: (settings) => settings.path ?? 'no path',
};
