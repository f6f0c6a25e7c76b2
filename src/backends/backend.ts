// What a backend module provides, and the one place that picks a backend by name. Each backend
// is loaded only when configured, so a SQLite server never loads a PostgreSQL client.

import type { BackendName, Settings } from '../config/config.js';
import type { AdminBackend } from '../model/admin.js';
import type { SessionStore } from '../model/store.js';
import type { Caller } from '../model/types.js';

export interface Backend {
  /** The store as `caller` sees it (PostgreSQL connects as the caller's own role). */
  openStore(settings: Settings, caller: Caller): Promise<SessionStore>;
  openAdmin(settings: Settings): Promise<AdminBackend>;
  /** What the resident service keeps open, serving many callers. */
  openShared(settings: Settings): Promise<SharedStores>;
  /**
   * The driver blocks the calling thread while it works or waits for a lock (better-sqlite3), so
   * the resident service runs this backend's requests in a worker thread, away from its socket.
   */
  readonly blocksThread?: boolean;
}

/** A backend's stores as the resident service holds them: opened once, used per request. */
export interface SharedStores {
  /** Runs one request as `caller`; what it changes is committed when this resolves. */
  withStore<T>(caller: Caller, work: (store: SessionStore) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const loaders: Record<BackendName, () => Promise<Backend>> = {
  sqlite: async () => (await import('./sqlite/index.js')).sqliteBackend,
  postgres: async () => (await import('./postgres/index.js')).postgresBackend,
};

export function loadBackend(name: BackendName): Promise<Backend> {
  return loaders[name]();
}
