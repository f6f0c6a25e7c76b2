// One request of the resident service on PostgreSQL, in as few round trips as its statements
// allow. The request gets a connection of the pool to itself (postgres.js's reserve), on which
// nothing waits for an answer it does not need: BEGIN, SET LOCAL ROLE and the request's
// statements leave in one write, and so do a savepoint and the statements in it.
//
// - A read is one round trip: its answer is the caller's as soon as its statement has answered;
//   its COMMIT follows, and the connection returns to the pool once that has answered too. It
//   runs in a READ ONLY transaction, so a read that tried to write would fail, not write.
// - A write whose request is one store call of one statement ('single-write') is one round
//   trip too: COMMIT leaves with that statement (PgSession.last), and the caller is answered once
//   PostgreSQL has said COMMIT. No statement can follow it: one would fail, unsent.
// - Any other write is its statements' round trips, then COMMIT's.
//
// This is as safe as waiting. PostgreSQL runs the statements of a connection in the order sent;
// when one fails, it refuses every later one of the transaction block, and a COMMIT sent after
// that ends the block as ROLLBACK (which we then report as a failure). When SET LOCAL ROLE
// fails, nothing runs under another role: the request fails with that first error.
//
// A connection that was lost under the request is not given back to the pool (postgres.js has
// already put it among its closed ones, to be made again); one that answered is given back only
// after its transaction has ended. Once the request has ended, its session sends nothing.

import type { StoreAccess } from '../../model/backend.js';
import { SessionDbError } from '../../model/errors.js';
import type { ConnectionSql, PgSession, Tx } from './connection.js';
import { quoteIdent } from './identifiers.js';

/** A connection of the pool, the request's own until released. */
type Reserved = Awaited<ReturnType<ConnectionSql['reserve']>>;

/** What runRequest's caller learns about a failure, besides the error itself. */
export interface RequestFailure {
  /** SET LOCAL ROLE's own error, when it was refused (every later failure comes from it). */
  roleRefused?: unknown;
  /** Whether COMMIT had been sent: after that, the change may or may not have been made. */
  committing: boolean;
}

/** The connection to the server went away (not: the server refused a statement). */
export type LostTest = (err: unknown) => boolean;

/**
 * Runs `work` as `role` in one transaction on a reserved connection. `stillWanted` is asked once
 * the connection is ours: a request whose caller was already answered (a timeout) runs nothing.
 * `failed` receives what the request knew when it failed, for the caller's message.
 */
export async function runRequest<T>(
  pool: ConnectionSql,
  role: string,
  access: StoreAccess,
  work: (session: PgSession) => Promise<T>,
  { stillWanted, lost, failed }: { stillWanted: () => boolean; lost: LostTest; failed: (f: RequestFailure) => void },
): Promise<T> {
  const conn: Reserved = await pool.reserve();
  if (!stillWanted()) {
    conn.release();
    throw new SessionDbError('unavailable', 'the request was answered already');
  }
  const request = new Request(conn, access, lost);
  // Constant text and the role quoted by quoteIdent: simple queries, no values.
  const begin = conn.unsafe(access === 'read' ? 'BEGIN READ ONLY' : 'BEGIN').execute();
  const setRole = conn.unsafe(`SET LOCAL ROLE ${quoteIdent(role)}`).execute();
  let roleRefused: unknown;
  setRole.catch((err: unknown) => {
    roleRefused = err;
  });
  let pending: Promise<unknown> = Promise.resolve();
  try {
    const running = work(request.session());
    pending = running;
    const [, , result] = await Promise.all([begin, setRole, running]);
    const commit = request.commit();
    if (access === 'read') {
      // Nothing to make durable: the answer does not wait for COMMIT's.
      commit.then(
        () => conn.release(),
        (err: unknown) => {
          if (!lost(err)) conn.release();
        },
      );
      return result;
    }
    const ended = await commit;
    // A COMMIT after a refused statement ends the transaction as ROLLBACK, without an error.
    if (ended.command !== 'COMMIT') throw new SessionDbError('conflict', 'the change was rolled back; nothing was written');
    conn.release();
    return result;
  } catch (err) {
    // A COMMIT already sent decides what stands: the caller hears of the failure once it has.
    if (request.committing) await request.commit().catch(() => undefined);
    failed({ roleRefused, committing: request.committing });
    request.end();
    // Whatever the error says: on a lost connection the ROLLBACK fails at once (the patched
    // postgres.js refuses statements there), and the connection is not released.
    void endFailed(conn, pending, lost);
    throw err;
  }
}

/**
 * After a failure: let the request's work settle (statements it already sent must not run after
 * the ROLLBACK), then end the transaction and give the connection back. After a COMMIT already
 * sent, this ROLLBACK finds no transaction (a warning); on a lost connection it fails at once.
 */
async function endFailed(conn: Reserved, pending: Promise<unknown>, lost: LostTest): Promise<void> {
  await pending.catch(() => undefined);
  try {
    await conn.unsafe('ROLLBACK');
    conn.release();
  } catch (err) {
    if (!lost(err)) conn.release();
  }
}

/** A request's transaction: its COMMIT, sent once, and the store's view of it. */
class Request {
  readonly #conn: Reserved;
  readonly #access: StoreAccess;
  readonly #lost: LostTest;
  /** COMMIT, once sent. */
  #commit: ReturnType<Reserved['unsafe']> | undefined;
  /** Once COMMIT was sent or the request failed: its session sends nothing more. */
  #ended = false;
  /** Savepoints open now: the store's own transactions. */
  #depth = 0;
  #savepoints = 0;

  constructor(conn: Reserved, access: StoreAccess, lost: LostTest) {
    this.#conn = conn;
    this.#access = access;
    this.#lost = lost;
  }

  get committing(): boolean {
    return this.#commit !== undefined;
  }

  /** COMMIT: the one sent with the request's last statement, or sent now. */
  commit(): ReturnType<Reserved['unsafe']> {
    this.#ended = true;
    if (!this.#commit) {
      this.#commit = this.#conn.unsafe('COMMIT').execute();
      // Awaited by runRequest, unless the request failed first.
      this.#commit.catch(() => undefined);
    }
    return this.#commit;
  }

  /** The request failed: its ROLLBACK follows (endFailed). */
  end(): void {
    this.#ended = true;
  }

  /**
   * The store's view of the request. Its statements go to the reserved connection, refused
   * (unsent) once the request has ended: after its COMMIT or its failure, one would run outside
   * its transaction, or in another request's once the connection is back in the pool. A store's
   * own transactions become savepoints.
   */
  session(): PgSession {
    const tx = new Proxy(this.#conn, {
      apply: (target, self, args) => {
        this.#assertOpen();
        return Reflect.apply(target, self, args);
      },
      get: (target, key, receiver) => {
        if (key === 'unsafe') this.#assertOpen();
        if (key === 'savepoint') return savepoint;
        return Reflect.get(target, key, receiver);
      },
    }) as unknown as Tx;
    const savepoint = <R>(w: (t: Tx) => Promise<R>) => this.#savepoint(tx, w);
    return {
      sql: tx,
      transaction: savepoint,
      last: (statement) => {
        // Only a request that is this one call, and not inside a savepoint of the call.
        if (this.#access === 'single-write' && this.#depth === 0 && !this.#ended) {
          statement.execute();
          this.commit();
        }
        return statement;
      },
      guard: (operation) => operation(),
      close: async () => {},
    };
  }

  #assertOpen(): void {
    if (this.#ended) throw new SessionDbError('failed', 'internal error: a statement after the request had ended');
  }

  /** A savepoint, marked without waiting for the mark's answer. */
  async #savepoint<R>(tx: Tx, w: (t: Tx) => Promise<R>): Promise<R> {
    this.#assertOpen();
    const name = `s${this.#savepoints++}`;
    // Sent before w's first statement (execute: in the order created).
    const mark = this.#conn.unsafe(`SAVEPOINT ${name}`).execute();
    let running: Promise<R> | undefined;
    this.#depth++;
    try {
      running = w(tx);
      const [, result] = await Promise.all([mark, running]);
      return result;
    } catch (err) {
      // A lost connection took the whole transaction with it, and a request that has ended is
      // rolled back whole (endFailed). Else, once w has sent its last statement, undo to the
      // mark; if even that is refused, the transaction stays failed and its COMMIT reports it.
      if (!this.#lost(err)) {
        await running?.catch(() => undefined);
        if (!this.#ended) await this.#conn.unsafe(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
      }
      throw err;
    } finally {
      this.#depth--;
    }
  }
}
