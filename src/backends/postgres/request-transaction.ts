// A service request's transaction on a reserved connection, in as few round trips as its
// statements allow.
//
// postgres.js sends a statement when it is awaited (or executed), and every statement sent
// before an answer is waited for goes out in the same write: pipelined. So the opening (BEGIN
// and SET LOCAL ROLE to the caller's role: one simple query, no values in it, the role quoted by
// quoteIdent) is sent without waiting and travels with the request's first statement; the
// savepoints that make the store's own transactions are set and released the same way. A
// one-statement request costs two round trips: the statement, then COMMIT.
//
// Why this is as safe as waiting at each step: statements run in the order sent, inside the
// block the opening began. When the opening fails (the caller's role is missing), PostgreSQL
// refuses every later statement of the block ("current transaction is aborted"), and its COMMIT
// only ends it, as ROLLBACK: nothing runs without the caller's role. So commit() checks every
// answer it did not wait for, and the command PostgreSQL says it ran, before it reports success.
//
// Every statement sent has a handler attached (a rejected statement nobody listens to would end
// the process). Once the connection is found lost nothing more is sent on it: postgres.js 3.4
// fails in a way that ends the process when a reserved connection that closed is written to, and
// it has already put that connection among its closed ones, so it must not be released either.

import type { ReservedSql } from 'postgres';
import { SessionDbError } from '../../model/errors.js';
import type { StoreTx } from './connection.js';
import { quoteIdent } from './identifiers.js';

interface Outcome {
  error?: unknown;
}

/** The connection to the server went away (not: the server refused a statement). */
export type LostTest = (err: unknown) => boolean;

export interface RequestTransaction {
  /** The request's statements, and savepoints for the store's own transactions. */
  tx: StoreTx;
  /** COMMIT; rejects when anything sent without waiting failed, or the block was not committed. */
  commit(): Promise<void>;
  /**
   * ROLLBACK unless committed, then the connection back to the pool; nothing when the
   * connection is gone. Once: later calls do nothing.
   */
  end(): Promise<void>;
  /** The opening's failure (the caller's role could not be set), if it failed. */
  openingError(): Promise<unknown>;
  /** Notes that a statement of the request found the connection gone. */
  noteLost(err: unknown): void;
}

/** Sends a built statement now, in the order of the calls (postgres.js's execute()). */
function send(statement: PromiseLike<unknown>): void {
  (statement as unknown as { execute(): unknown }).execute();
}

export function requestTransaction(connection: ReservedSql, role: string, isLost: LostTest): RequestTransaction {
  let lost = false;
  let open = true;
  let ended = false;
  let savepoints = 0;
  /** Answers of the statements sent without waiting. */
  const unawaited: Promise<Outcome>[] = [];
  const noteLost = (err: unknown) => {
    if (isLost(err)) lost = true;
  };
  const outcome = (statement: PromiseLike<unknown>): Promise<Outcome> =>
    Promise.resolve(statement).then(
      () => ({}),
      (error: unknown) => {
        noteLost(error);
        return { error };
      },
    );
  /** Sends `text` (constant text and quoted names only) without waiting; its answer is kept. */
  const pipelined = (text: string): Promise<Outcome> => {
    const statement = connection.unsafe(text);
    const answer = outcome(statement);
    send(statement);
    unawaited.push(answer);
    return answer;
  };
  const gone = () => new SessionDbError('unavailable', 'the connection to PostgreSQL was lost');

  const opened = pipelined(`begin; set local role ${quoteIdent(role)}`);

  const savepoint = async <T>(work: (sp: StoreTx) => Promise<T>): Promise<T> => {
    if (lost) throw gone();
    const name = `x2godb_${savepoints++}`;
    const set = pipelined(`savepoint ${name}`);
    try {
      const result = await work(tx);
      if (lost) throw gone();
      pipelined(`release savepoint ${name}`);
      return result;
    } catch (err) {
      noteLost(err);
      // Undone only when the savepoint was set; otherwise the block has failed already.
      if (!lost && (await set).error === undefined) await connection.unsafe(`rollback to savepoint ${name}`);
      throw err;
    }
  };
  // The reservation's own handle, which postgres.js makes for this request alone.
  const tx = Object.assign(connection, { savepoint }) as unknown as StoreTx;

  return {
    tx,
    noteLost,
    openingError: async () => (await opened).error,
    commit: async () => {
      if (lost) throw gone();
      open = false;
      const done = await connection.unsafe('commit').catch((err: unknown) => {
        noteLost(err);
        throw err;
      });
      for (const answer of await Promise.all(unawaited)) if (answer.error !== undefined) throw answer.error;
      // COMMIT of a block that failed ends it as ROLLBACK, without an error.
      if (done.command !== 'COMMIT') throw new SessionDbError('unavailable', `PostgreSQL ended the request with ${done.command}`);
    },
    end: async () => {
      if (ended || lost) return;
      ended = true;
      if (open) {
        open = false;
        await connection.unsafe('rollback').catch(noteLost);
      }
      // Lost during the rollback: postgres.js has it among its closed connections already.
      if (!lost) connection.release();
    },
  };
}
