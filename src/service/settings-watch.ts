// The service's configuration as it is now: the files are stat'ed on every request and read
// again when they changed. A broken edit is logged and the last good settings kept.

import { statSync } from 'node:fs';
import { loadSettings, serverConfigFile, type Settings } from '../config/config.js';
import type { Level } from './log.js';

/** The configuration files' identity: a change means the settings must be read again. */
function configStamp(settings: Settings): string {
  return [settings.sqlFile, serverConfigFile(settings.configDir)]
    .map((file) => {
      const st = statSync(file, { throwIfNoEntry: false });
      return st ? `${st.ino}:${st.mtimeMs}:${st.size}` : '-';
    })
    .join('/');
}

export class SettingsWatch {
  #settings: Settings;
  #stamp: string;
  readonly #changed: (settings: Settings) => void;
  readonly #log: (level: Level, message: string) => void;

  /** `changed` runs after the settings were read again, before anyone uses them. */
  constructor(settings: Settings, changed: (settings: Settings) => void, log: (level: Level, message: string) => void) {
    this.#settings = settings;
    this.#stamp = configStamp(settings);
    this.#changed = changed;
    this.#log = log;
  }

  /** The settings last read, without looking at the files. */
  get settings(): Settings {
    return this.#settings;
  }

  current(): Settings {
    const stamp = configStamp(this.#settings);
    if (stamp === this.#stamp) return this.#settings;
    this.#stamp = stamp;
    try {
      this.#settings = loadSettings(this.#settings.configDir);
    } catch (err) {
      this.#log(
        'err',
        `configuration changed but cannot be used, keeping the previous one: ${err instanceof Error ? err.message : String(err)}`,
      );
      return this.#settings;
    }
    this.#changed(this.#settings);
    this.#log('notice', `configuration changed: backend ${this.#settings.backend.name}, reopening the session database`);
    return this.#settings;
  }
}
