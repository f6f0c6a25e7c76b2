// The seam between the application and a backend (SQLite, PostgreSQL): what a backend reads from
// the configuration, what it opens, and how the reference printed its rows. The model declares
// it and knows no backend; src/backends/backend.ts registers them, one line each. Settings are
// plain data, never objects with methods.

import type { AdminBackend } from './admin.js';
import type { DoctorBackend } from './doctor.js';
import { SessionDbError } from './errors.js';
import type { QuotaLimits } from './quota.js';
import type { SessionLimits } from './session-limit.js';
import type { SessionStore } from './store.js';
import type { Caller } from './types.js';

/** What every backend's own settings carry: the name that picks the backend (backend= in x2gosql/sql). */
export interface BackendSettings {
  readonly name: string;
}

/** The configuration: what is common to every backend, and the backend's own part. */
export interface Settings<B extends BackendSettings = BackendSettings> {
  configDir: string;
  /** x2gosql/sql: named in messages that tell the administrator what to edit. */
  sqlFile: string;
  /** x2goserver.conf [telekinesis] enable, read with the reference's is_true. */
  telekinesis: boolean;
  logLevel: string;
  /** [quota] of x2gosql/sql: what one user may hold (see quota.ts). */
  quota: QuotaLimits;
  /** x2goserver.conf's [limit users] and [limit groups], as x2gosessionlimit reads them (session-limit.ts). */
  sessionLimits: SessionLimits;
  /** [sessiond] history_days= of x2gosql/sql: how long the service keeps session_events. */
  historyDays: number;
  backend: B;
}

/** What a backend's settings are read from: x2gosql/sql as config/ini.ts parses it. */
export interface SettingsSource {
  /** The file, for messages. */
  file: string;
  /** Relative paths in the file are relative to this directory. */
  configDir: string;
  /** `section.key` to value; keys before the first [section] are `default.key`. */
  values: ReadonlyMap<string, string>;
}

/**
 * Reads one backend's part of the configuration and refuses what makes no sense for it (a
 * SessionDbError 'config', one line naming the file). Called on every helper call: it must not
 * load the backend's driver.
 */
export type SettingsParser<S extends BackendSettings> = (source: SettingsSource) => S;

/** How the reference printed this backend's rows; the CLI keeps it so that parsers keep working. */
export interface LegacyTraits {
  /** Whether user listings, desktop-sharing listings and root listings end with the two telekinesis ports. */
  tekiColumns: { sessions: boolean; shadow: boolean; root: boolean };
  /** getservers prints "server count" lines (PostgreSQL) rather than bare "server" lines (SQLite). */
  serverCounts: boolean;
}

/**
 * What a request does with its store (CommandSpec.readOnly, CommandSpec.oneStoreCall): a backend
 * may answer a read before its transaction has ended, and refuse a write in it; and commit a
 * single write (one store call) with that call's last statement.
 */
export type StoreAccess = 'read' | 'single-write' | 'write';

/** A backend's stores as the resident service holds them: opened once, used per request. */
export interface SharedStores {
  /** Runs one request as `caller`; what it changes is committed when this resolves. */
  withStore<T>(caller: Caller, work: (store: SessionStore) => Promise<T>, access?: StoreAccess): Promise<T>;
  close(): Promise<void>;
}

/** What a backend module provides, loaded only when the configuration names it. */
export interface Backend<S extends BackendSettings = BackendSettings> {
  /** The store as `caller` sees it (PostgreSQL connects as the caller's own role). */
  openStore(settings: Settings<S>, caller: Caller): Promise<SessionStore>;
  openAdmin(settings: Settings<S>): Promise<AdminBackend>;
  /** What x2go-sessiondb doctor inspects and repairs (root). */
  openDoctor(settings: Settings<S>): Promise<DoctorBackend>;
  /** What the resident service keeps open, serving many callers. */
  openShared(settings: Settings<S>): Promise<SharedStores>;
  /** How the reference printed this backend's rows with these settings. */
  legacyTraits(settings: Settings<S>): LegacyTraits;
  /** Where the data is, for status reports: a file, or host:port/database. */
  describe(settings: S): string;
}

/**
 * Where display numbers and ports must be unique: across the farm (the reference's schema, and
 * what Perl nodes expect) or per server (ours, for a backend that serves a farm and says so).
 */
export type Scope = 'farm' | 'per-server';

/** scope= of x2gosql/sql (a top-level key, as backend= is); farm when absent. */
export function readScope(source: SettingsSource): Scope {
  const scope = source.values.get('default.scope') || 'farm';
  if (scope === 'farm' || scope === 'per-server') return scope;
  throw new SessionDbError('config', `${source.file}: scope=${scope} is not one of farm, per-server`);
}
