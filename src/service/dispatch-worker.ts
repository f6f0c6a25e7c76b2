// The service's database work, in a worker thread of its own: the CLI's dispatch on stores
// opened once, for the requests the main thread (server.ts) passes on with the caller's uid.
//
// Why a thread: better-sqlite3 is synchronous, and a lock held by another process once froze
// the whole service in SQLite's busy wait, every read with it (issue 9). Here a wait blocks at
// most the store's short busy timeout, the retries wait on timers (the backend's shared stores
// decide how), and the main thread, which only speaks the socket protocol, never waits at all.
// Both backends run here alike: the service has no backend `if`.

import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { loadBackend, type SharedStores } from '../backends/backend.js';
import { loadSettings, serverConfigFile, type Settings } from '../config/config.js';
import { dispatch, type Environment, type Response } from '../cli/dispatch.js';
import { EXIT_CODES } from '../model/errors.js';
import { lookupUid } from '../system/accounts.js';
import type { Level } from './log.js';
import type { FromWorker, ToWorker, WorkerData } from './worker-messages.js';

/** Stores of a replaced configuration are closed after this (a request takes at most 10 s). */
const RETIRE_AFTER_MS = 30_000;

/** The configuration files' identity: a change means the settings must be read again. */
function configStamp(settings: Settings): string {
  return [settings.sqlFile, serverConfigFile(settings.configDir)]
    .map((file) => {
      const st = statSync(file, { throwIfNoEntry: false });
      return st ? `${st.ino}:${st.mtimeMs}:${st.size}` : '-';
    })
    .join('/');
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

class DispatchWorker {
  #settings: Settings;
  #stamp: string;
  #shared: Promise<SharedStores> | undefined;
  readonly #post: (message: FromWorker) => void;

  constructor(configDir: string, post: (message: FromWorker) => void) {
    this.#settings = loadSettings(configDir);
    this.#stamp = configStamp(this.#settings);
    this.#post = post;
    this.#announce();
  }

  #log(level: Level, message: string): void {
    this.#post({ type: 'log', level, message });
  }

  #announce(): void {
    this.#post({ type: 'settings', backend: this.#settings.backend, logLevel: this.#settings.logLevel });
  }

  /** Opened on first use, and again after a failed open (the database may come later). */
  #stores(): Promise<SharedStores> {
    this.#shared ??= loadBackend(this.#settings.backend)
      .then((backend) => backend.openShared(this.#settings))
      .catch((err: unknown) => {
        this.#shared = undefined;
        throw err;
      });
    return this.#shared;
  }

  async warm(): Promise<void> {
    try {
      await this.#stores();
    } catch (err) {
      this.#log('warning', `the session database is not ready yet: ${errorText(err)}`);
    }
  }

  /**
   * The configuration as it is now: edited files are read again (a broken edit keeps the last
   * good settings and is logged), and stores opened with the old settings are closed once the
   * requests using them are done.
   */
  #currentSettings(): Settings {
    const stamp = configStamp(this.#settings);
    if (stamp === this.#stamp) return this.#settings;
    this.#stamp = stamp;
    try {
      this.#settings = loadSettings(this.#settings.configDir);
    } catch (err) {
      this.#log('err', `configuration changed but cannot be used, keeping the previous one: ${errorText(err)}`);
      return this.#settings;
    }
    this.#announce();
    this.#log('notice', `configuration changed: backend ${this.#settings.backend}, reopening the session database`);
    const old = this.#shared;
    this.#shared = undefined;
    if (old) setTimeout(() => void old.then((s) => s.close()).catch(() => undefined), RETIRE_AFTER_MS).unref();
    return this.#settings;
  }

  readonly #environment: Environment = {
    // The service's configuration, whatever directory a request names (requests name none).
    settings: () => this.#currentSettings(),
    withStore: async (_settings, caller, work) => (await this.#stores()).withStore(caller, work),
  };

  async run(uid: number, program: string, args: string[]): Promise<Response> {
    const account = lookupUid(uid);
    if (!account) {
      this.#log('warning', `request from uid ${uid}, which has no account`);
      return { stdout: '', stderr: `x2godb: uid ${uid} has no user account\n`, exitCode: 1 };
    }
    let response: Response;
    try {
      response = await dispatch(
        { caller: { uid, name: account.name }, program, args, configDir: this.#settings.configDir, mayChooseConfig: false },
        this.#environment,
      );
    } catch (err) {
      // dispatch answers every error itself; this is a bug, and must not end the service.
      this.#log('err', `internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      return { stdout: '', stderr: 'x2godb: internal error in the session service\n', exitCode: 1 };
    }
    if (response.exitCode === EXIT_CODES.unavailable || response.stderr.includes('internal error')) {
      this.#log('err', response.stderr.trim());
    }
    return response;
  }

  async close(): Promise<void> {
    const shared = await this.#shared?.catch(() => undefined);
    await shared?.close();
  }
}

/** The worker thread's entry (src/service/main.ts calls it when it is not the main thread). */
export function runDispatchWorker(): void {
  const port = parentPort;
  if (!port) throw new Error('runDispatchWorker: not in a worker thread');
  const post = (message: FromWorker) => port.postMessage(message);
  const worker = new DispatchWorker((workerData as WorkerData).configDir, post);
  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'run':
        void worker
          .run(message.uid, message.program, message.args)
          .catch((err: unknown): Response => {
            post({ type: 'log', level: 'err', message: `internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}` });
            return { stdout: '', stderr: 'x2godb: internal error in the session service\n', exitCode: 1 };
          })
          .then((response) => post({ type: 'answer', id: message.id, response }));
        return;
      case 'warm':
        void worker.warm().then(() => post({ type: 'warmed' }));
        return;
      case 'close':
        void worker.close().finally(() => {
          post({ type: 'closed' });
          port.close();
        });
    }
  });
}
