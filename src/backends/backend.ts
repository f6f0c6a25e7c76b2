// The registry of backends: one line each, the one place that picks a backend by name. A
// backend's settings parser is light and read on every call; the backend itself (its driver) is
// loaded only when configured, so a SQLite server never loads a PostgreSQL client. The contract
// a backend fulfils is the model's (src/model/backend.ts).

import type { Backend, BackendSettings, Settings as SettingsOf, SettingsParser } from '../model/backend.js';
import { parsePostgresSettings } from './postgres/settings.js';
import { parseSqliteSettings } from './sqlite/settings.js';

interface Registered<S extends BackendSettings> {
  parseSettings: SettingsParser<S>;
  load(): Promise<Backend<S>>;
}

/** Checks that a backend's parser and module agree on its settings type. */
const register = <S extends BackendSettings>(backend: Registered<S>): Registered<S> => backend;

const BACKENDS = {
  sqlite: register({ parseSettings: parseSqliteSettings, load: async () => (await import('./sqlite/index.js')).sqliteBackend }),
  postgres: register({ parseSettings: parsePostgresSettings, load: async () => (await import('./postgres/index.js')).postgresBackend }),
};

export type BackendName = keyof typeof BACKENDS;
/** Every backend's settings, told apart by `name`. */
export type AnyBackendSettings = ReturnType<(typeof BACKENDS)[BackendName]['parseSettings']>;
export type Settings = SettingsOf<AnyBackendSettings>;

export const BACKEND_NAMES = Object.keys(BACKENDS) as BackendName[];

export function isBackendName(name: string | undefined): name is BackendName {
  return name !== undefined && Object.hasOwn(BACKENDS, name);
}

export function backendSettingsParser(name: BackendName): SettingsParser<AnyBackendSettings> {
  return BACKENDS[name].parseSettings;
}

/**
 * The backend of these settings' name. Each backend accepts only its own settings; the name in
 * the settings is the one its parser wrote, so the backend picked here is always theirs.
 */
export function loadBackend(name: BackendName): Promise<Backend<AnyBackendSettings>> {
  return BACKENDS[name].load() as Promise<Backend<AnyBackendSettings>>;
}
