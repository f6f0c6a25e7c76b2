// Runs the CLI's dispatch for the service: on stores opened once and kept, for a caller the
// kernel named; see server.ts.

import { loadBackend } from '../backends/backend.js';
import type { SharedStores } from '../model/backend.js';
import type { Settings } from '../config/config.js';
import { dispatch, type Environment, type Response } from '../app/dispatch.js';
import { EXIT_CODES } from '../model/errors.js';
import { lookupUid } from '../system/accounts.js';
import type { Level } from './log.js';

/** Stores of a replaced configuration are closed after this (a request takes at most 10 s). */
const RETIRE_AFTER_MS = 30_000;

const INTERNAL_ERROR: Response = { stdout: '', stderr: 'x2godb: internal error in the session service\n', exitCode: 1 };

export type LogSink = (level: Level, message: string) => void;

export class DispatchHost {
  #shared: Promise<SharedStores> | undefined;
  readonly #log: LogSink;
  /** The service's node name (--hostname), which the events it writes carry. */
  readonly #node: string;

  constructor(log: LogSink, node: string) {
    this.#log = log;
    this.#node = node;
  }

  /** Opened on first use with the settings of that request, and again after a failed open. */
  #stores(settings: Settings): Promise<SharedStores> {
    if (this.#shared) return this.#shared;
    const opening = loadBackend(settings.backend.name)
      .then((backend) => backend.openShared(settings))
      .catch((err: unknown) => {
        if (this.#shared === opening) this.#shared = undefined;
        throw err;
      });
    this.#shared = opening;
    return opening;
  }

  async warm(settings: Settings): Promise<void> {
    try {
      await this.#stores(settings);
    } catch (err) {
      this.#log('warning', `the session database is not ready yet: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  retire(): void {
    const old = this.#shared;
    this.#shared = undefined;
    if (old) setTimeout(() => void old.then((s) => s.close()).catch(() => undefined), RETIRE_AFTER_MS).unref();
  }

  /** `trailer`: what the caller sends after an X2DB3 request (dispatch.ts, Request.trailer). */
  async run(settings: Settings, uid: number, program: string, args: string[], trailer?: Promise<string>): Promise<Response> {
    try {
      const account = lookupUid(uid);
      if (!account) {
        this.#log('warning', `request from uid ${uid}, which has no account`);
        return { stdout: '', stderr: `x2godb: uid ${uid} has no user account\n`, exitCode: 1 };
      }
      // The stores of its first store use serve all of a request's uses (a listing has two, its
      // report awaited in between): settings read again meanwhile do not split a request.
      let stores: Promise<SharedStores> | undefined;
      const environment: Environment = {
        // The service's configuration, whatever directory a request names (requests name none).
        settings: () => settings,
        withStore: async (_settings, caller, work, access) => {
          stores ??= this.#stores(settings);
          return (await stores).withStore(caller, work, access);
        },
        node: this.#node,
      };
      const response = await dispatch(
        {
          caller: { uid, name: account.name },
          program,
          args,
          configDir: settings.configDir,
          mayChooseConfig: false,
          ...(trailer ? { trailer } : {}),
        },
        environment,
      );
      if (response.exitCode === EXIT_CODES.unavailable || response.stderr.includes('internal error')) {
        this.#log('err', response.stderr.trim());
      }
      return response;
    } catch (err) {
      // dispatch answers every error itself; this is a bug, and must not end the service.
      this.#log('err', `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return INTERNAL_ERROR;
    }
  }

  async close(): Promise<void> {
    const shared = await this.#shared?.catch(() => undefined);
    this.#shared = undefined;
    await shared?.close();
  }
}
