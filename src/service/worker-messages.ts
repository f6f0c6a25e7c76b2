// What the service's main thread (server.ts, through dispatch-thread.ts) and its dispatch
// worker (dispatch-worker.ts) say to each other: plain objects, copied between the threads.

import type { Response } from '../app/dispatch.js';
import type { Settings } from '../config/config.js';
import type { Level } from './log.js';

export type ToWorker =
  /** Run a command for `uid` (the kernel's, SO_PEERCRED) and answer with the same id. */
  | { type: 'run'; id: number; settings: Settings; uid: number; program: string; args: string[] }
  /** Open the stores now, so that the first caller does not wait. */
  | { type: 'warm'; settings: Settings }
  /** The configuration changed: retire the stores opened with the old one. */
  | { type: 'retire' }
  /** Close the stores; the worker then ends. */
  | { type: 'close' };

export type FromWorker =
  | { type: 'answer'; id: number; response: Response }
  | { type: 'log'; level: Level; message: string }
  | { type: 'warmed' }
  | { type: 'closed' };
