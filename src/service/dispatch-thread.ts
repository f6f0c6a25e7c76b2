// The main thread's handle on the dispatch worker (dispatch-worker.ts): passes requests to it,
// matches the answers, and keeps it running. A worker that dies (a bug: dispatch answers every
// error itself) is replaced; the requests it had are answered with an error, never left open.

import { Worker } from 'node:worker_threads';
import type { Response } from '../cli/dispatch.js';
import type { Level } from './log.js';
import type { FromWorker, ToWorker, WorkerData } from './worker-messages.js';

const LOST: Response = {
  stdout: '',
  stderr: 'x2godb: internal error in the session service; a change, if any, may or may not have been made\n',
  exitCode: 1,
};

export interface WorkerEvents {
  log(level: Level, message: string): void;
  settings(backend: string, logLevel: string): void;
}

export class DispatchThread {
  readonly #script: string;
  readonly #data: WorkerData;
  readonly #events: WorkerEvents;
  #worker!: Worker;
  #nextId = 1;
  readonly #pending = new Map<number, (response: Response) => void>();
  #waiters: { type: 'warmed' | 'closed'; resolve: () => void }[] = [];
  #closing = false;

  /** `script` is the service's entry file, which runs the worker side off the main thread. */
  constructor(script: string, data: WorkerData, events: WorkerEvents) {
    this.#script = script;
    this.#data = data;
    this.#events = events;
    this.#start();
  }

  #start(): void {
    const worker = new Worker(this.#script, { workerData: this.#data });
    this.#worker = worker;
    worker.on('message', (message: FromWorker) => this.#receive(message));
    worker.on('error', (err) => this.#events.log('err', `the dispatch worker failed: ${err.stack ?? err.message}`));
    worker.on('exit', (code) => {
      if (this.#worker !== worker) return;
      for (const answer of this.#pending.values()) answer(LOST);
      this.#pending.clear();
      for (const w of this.#waiters.splice(0)) w.resolve();
      if (this.#closing) return;
      this.#events.log('err', `the dispatch worker exited (${code}); starting another`);
      this.#start();
    });
  }

  #receive(message: FromWorker): void {
    switch (message.type) {
      case 'answer': {
        const answer = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        answer?.(message.response);
        return;
      }
      case 'log':
        this.#events.log(message.level, message.message);
        return;
      case 'settings':
        this.#events.settings(message.backend, message.logLevel);
        return;
      case 'warmed':
      case 'closed': {
        const ready = this.#waiters.filter((w) => w.type === message.type);
        this.#waiters = this.#waiters.filter((w) => w.type !== message.type);
        for (const w of ready) w.resolve();
      }
    }
  }

  #send(message: ToWorker): void {
    this.#worker.postMessage(message);
  }

  #until(type: 'warmed' | 'closed', message: ToWorker): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push({ type, resolve });
      this.#send(message);
    });
  }

  /** Runs a command for `uid` in the worker; always resolves, with the command's response. */
  run(uid: number, program: string, args: string[]): Promise<Response> {
    return new Promise((resolve) => {
      const id = this.#nextId++;
      this.#pending.set(id, resolve);
      this.#send({ type: 'run', id, uid, program, args });
    });
  }

  warm(): Promise<void> {
    return this.#until('warmed', { type: 'warm' });
  }

  /** Closes the stores and ends the worker (requests still pending are answered with an error). */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#until('closed', { type: 'close' });
    await this.#worker.terminate();
  }
}
