// Which configured server the next connection goes to, and how fast we try again while none
// takes us. With several hosts (a primary and its standbys), postgres.js makes a connection
// that failed or landed on a standby again at once, to the next host: while the primary is
// dead and no standby promoted yet, that is a loop of refused connections and standby logins
// (about 600 a second from the service's pool, half a core of ours and the standby's). So once
// connections fail, attempts are spaced, for all connections of the pool together: the new
// primary is still found within a round or two of its promotion, and a database that stays
// down costs next to nothing. One host: every attempt at once, a failure fails the query (as
// before; postgres.js does not retry a single host).

import { connect as netConnect, type Socket } from 'node:net';
import type { PostgresTarget } from './settings.js';

/** The error code of a connection that found no server accepting writes among several. */
export const NO_PRIMARY = 'NO_PRIMARY';

/** While failing: the time between two attempts, whichever connection makes them. */
export const RETRY_SPACING_MS = 50;
/** A connection that lives this long was accepted: attempts are no longer spaced. */
const ACCEPTED_AFTER_MS = 1000;

export interface Dialer {
  /** postgres.js's `socket` option: a connection to the next host, once its turn has come. */
  socket(): Socket | Promise<Socket>;
  /** Since when every attempt has failed (performance.now()), or undefined. */
  failingSince(): number | undefined;
}

export function dialer(targets: readonly PostgresTarget[], onSocket: (socket: Socket) => void = () => {}): Dialer {
  let attempts = 0;
  let failingSince: number | undefined;
  let nextSlot = 0;
  const failed = () => {
    failingSince ??= performance.now();
  };
  const open = (): Socket => {
    const target = targets[attempts++ % targets.length] as PostgresTarget;
    const socket = netConnect({ host: target.host, port: target.port });
    onSocket(socket);
    if (targets.length > 1) {
      const born = performance.now();
      const accepted = setTimeout(() => {
        failingSince = undefined;
      }, ACCEPTED_AFTER_MS);
      accepted.unref();
      socket.once('error', failed);
      socket.once('close', () => {
        clearTimeout(accepted);
        // Refused, or a standby we left at once: failing. A connection that served is not.
        if (performance.now() - born < ACCEPTED_AFTER_MS) failed();
      });
    }
    return socket;
  };
  return {
    socket() {
      if (failingSince === undefined) return open();
      const now = performance.now();
      const at = Math.max(now, nextSlot);
      nextSlot = at + RETRY_SPACING_MS;
      return at <= now ? open() : new Promise<Socket>((resolve) => setTimeout(() => resolve(open()), at - now));
    },
    failingSince: () => failingSince,
  };
}
