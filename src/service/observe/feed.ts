// The one change feed the watch socket and the dashboard's live updates read: new history
// event ids from the backend's subscription (PostgreSQL LISTEN/NOTIFY, farm-wide; SQLite's
// polling of session_events), fanned out to every listener. Each listener then reads the event
// as its own caller (FarmMonitor.eventFor), so who sees what is decided where the rows are.

import type { FarmMonitor } from '../../model/monitor.js';
import type { LogSink } from '../dispatch-host.js';

export type EventListener = (id: number) => void;

export class ChangeFeed {
  readonly #listeners = new Set<EventListener>();
  readonly #monitor: () => Promise<FarmMonitor>;
  readonly #log: LogSink;
  #stop: Promise<(() => Promise<void>) | undefined> | undefined;

  constructor(monitor: () => Promise<FarmMonitor>, log: LogSink) {
    this.#monitor = monitor;
    this.#log = log;
  }

  /** Subscribes once, on the first listener; a failed subscription is tried again on the next. */
  #start(): void {
    if (this.#stop) return;
    const starting = this.#monitor()
      .then((m) => m.subscribe((id) => this.#emit(id)))
      .catch((err: unknown) => {
        this.#log('warning', `the change feed is not available yet: ${err instanceof Error ? err.message : String(err)}`);
        if (this.#stop === starting) this.#stop = undefined;
        return undefined;
      });
    this.#stop = starting;
  }

  #emit(id: number): void {
    for (const listener of this.#listeners) {
      try {
        listener(id);
      } catch (err) {
        this.#log('err', `a change feed listener failed: ${String(err)}`);
      }
    }
  }

  /** Resolves once the feed is subscribed (or failed to be); returns the unsubscribe. */
  async add(listener: EventListener): Promise<() => void> {
    this.#listeners.add(listener);
    this.#start();
    await this.#stop;
    return () => this.#listeners.delete(listener);
  }

  get size(): number {
    return this.#listeners.size;
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    const stop = await this.#stop;
    this.#stop = undefined;
    await stop?.().catch(() => undefined);
  }
}
