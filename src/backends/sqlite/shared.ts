// The resident service's SQLite: one connection for its life. better-sqlite3 runs a statement
// (and an immediate write transaction) to its end before another request's, so requests
// interleave only between the store's calls, as separate helper processes would.
//
// A lock held by another process (the reference's Perl code, x2godbadmin, a stopped helper)
// must not stop the thread that serves everyone: SQLite's own busy wait, which blocks the
// thread, is not used at all (timeout 0), and between attempts the store waits on a timer, so
// the service goes on answering while a write waits (reads, in WAL mode, never wait); a write
// that cannot get the lock in LOCK_WAIT.retryForMs fails with exit 4.
//
// x2godbadmin --createdb --force replaces the file: a connection to the old one would go on
// answering from a deleted file. So each request first checks that the path still names the
// file that is open, and opens the new one if not.

import { statSync } from 'node:fs';
import type { SharedStores } from '../../model/backend.js';
import { SqliteStore, type YieldingWait } from './store.js';

/**
 * No blocking at all: the service answers every caller from this one thread. 10 s is far longer
 * than any write of ours or x2godbadmin's holds the lock, and half of what the launcher waits
 * for an answer (20 s), so the caller gets this error, not the launcher's.
 */
const LOCK_WAIT: YieldingWait = { busyTimeoutMs: 0, retryForMs: 10_000 };

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
    const store = SqliteStore.open(path, LOCK_WAIT);
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
