// The worker thread's side of the service: runs DispatchHost for the requests the main thread
// passes on (see dispatch-thread.ts), for backends whose driver blocks its thread (SQLite).
//
// Why a thread: better-sqlite3 is synchronous, and a lock held by another process once froze
// the whole service in SQLite's busy wait, every read with it (issue 9). Here a wait blocks at
// most the store's short busy timeout, the retries wait on timers (the backend's shared stores
// decide how), and the main thread, which speaks the socket protocol, never waits at all.

import { parentPort, workerData } from 'node:worker_threads';
import { DispatchHost } from './dispatch-host.js';
import type { FromWorker, ToWorker } from './worker-messages.js';

/** The worker thread's entry (src/service/main.ts calls it when it is not the main thread). */
export function runDispatchWorker(): void {
  const port = parentPort;
  if (!port) throw new Error('runDispatchWorker: not in a worker thread');
  const post = (message: FromWorker) => port.postMessage(message);
  const host = new DispatchHost((level, message) => post({ type: 'log', level, message }), (workerData as { node: string }).node);
  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'run':
        void host
          .run(message.settings, message.uid, message.program, message.args)
          .then((response) => post({ type: 'answer', id: message.id, response }));
        return;
      case 'warm':
        void host.warm(message.settings).then(() => post({ type: 'warmed' }));
        return;
      case 'retire':
        host.retire();
        return;
      case 'close':
        void host.close().finally(() => {
          post({ type: 'closed' });
          port.close();
        });
    }
  });
}
