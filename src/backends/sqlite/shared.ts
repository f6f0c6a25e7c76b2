// The resident service's SQLite: one connection for its life. better-sqlite3 runs a statement
// (and an immediate write transaction) to its end before another request's, so requests
// interleave only between the store's calls, as separate helper processes would.
//
// x2godbadmin --createdb --force replaces the file: a connection to the old one would go on
// answering from a deleted file. So each request first checks that the path still names the
// file that is open, and opens the new one if not.

import { statSync } from 'node:fs';
import type { SharedStores } from '../backend.js';
import { SqliteStore } from './store.js';

function identity(path: string): string | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? `${st.dev}:${st.ino}` : undefined;
}

export function sharedSqlite(path: string): SharedStores {
  let open: { store: SqliteStore; identity: string | undefined } | undefined;
  const current = (): SqliteStore => {
    const now = identity(path);
    if (open && open.identity === now) return open.store;
    void open?.store.close();
    open = undefined;
    // Throws (not-found, unavailable) while there is no database: the next request tries again.
    const store = SqliteStore.open(path);
    open = { store, identity: identity(path) };
    return store;
  };
  return {
    withStore: async (_caller, work) => work(current()),
    close: async () => {
      await open?.store.close();
      open = undefined;
    },
  };
}
