// The main thread's handle on the dispatch worker (dispatch-worker.ts): passes requests to it,
// matches the answers, and keeps it running. A worker that dies (a bug: dispatch answers every
// error itself) is replaced; the requests it had are answered with an error, never left open.

import { Worker } from 'node:worker_threads';
import type { Response } from '../app/dispatch.js';
import type { Settings } from '../config/config.js';
import type { LogSink, Runner } from './dispatch-host.js';
import type { FromWorker, ToWorker } from './worker-messages.js';

const LOST: Response = {
  stdout: '',
  stderr: 'x2godb: internal error in the session service; a change, if any, may or may not have been made\n',
  exitCode: 1,
};

export class DispatchThread implements Runner {
  readonly #script: string;
  readonly #log: LogSink;
  readonly #node: string;
  #worker!: Worker;
  #nextId = 1;
  readonly #pending = new Map<number, (response: Response) => void>();
  #waiters: { type: 'warmed' | 'closed'; resolve: () => void }[] = [];
  #closing = false;

  /** `script` is the service's entry file, which runs the worker side off the main thread; `node` its node name. */
  constructor(script: string, log: LogSink, node: string) {
    this.#script = script;
    this.#log = log;
    this.#node = node;
    this.#start();
  }

  #start(): void {
    const worker = new Worker(this.#script, { workerData: { node: this.#node } });
    this.#worker = worker;
    worker.on('message', (message: FromWorker) => this.#receive(message));
    worker.on('error', (err) => this.#log('err', `the dispatch worker failed: ${err.stack ?? err.message}`));
    worker.on('exit', (code) => {
      if (this.#worker !== worker) return;
      for (const answer of this.#pending.values()) answer(LOST);
      this.#pending.clear();
      for (const w of this.#waiters.splice(0)) w.resolve();
      if (this.#closing) return;
      this.#log('err', `the dispatch worker exited (${code}); starting another`);
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
        this.#log(message.level, message.message);
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

  run(settings: Settings, uid: number, program: string, args: string[]): Promise<Response> {
    return new Promise((resolve) => {
      const id = this.#nextId++;
      this.#pending.set(id, resolve);
      this.#send({ type: 'run', id, settings, uid, program, args });
    });
  }

  warm(settings: Settings): Promise<void> {
    return this.#until('warmed', { type: 'warm', settings });
  }

  retire(): void {
    this.#send({ type: 'retire' });
  }

  /** Closes the stores and ends the worker (requests still pending are answered with an error). */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#until('closed', { type: 'close' });
    await this.#worker.terminate();
  }
}
