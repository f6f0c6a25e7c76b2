// The resident service's PostgreSQL: one pool, logged in as x2gosessiond, and each request in
// its own transaction after SET LOCAL ROLE to the caller's role (x2godbuser for root). So
// row-level security decides every request exactly as for a helper that connects as the user,
// and the service's own login may do nothing by itself (NOINHERIT).
//
// In few round trips (request.ts): a read is one, a single write one (COMMIT sent with its
// statement), another write its statements' and COMMIT's; the pool's statements are prepared
// once per connection.
//
// The service outlives its role's password: x2godbadmin --createdb (or an administrator) gives
// x2gosessiond a new one and rewrites x2gosql/x2gosessiond.password. New connections read the file as
// it is then (credentials.ts); a login refused anyway reads it once more and the request is
// tried again, so the service never stays broken while the database is fine.

import type { Settings, SharedStores } from '../../model/backend.js';
import { SessionDbError } from '../../model/errors.js';
import { storedUserName } from '../../model/ownership.js';
import { connectPool, describeTarget } from './connection.js';
import { liveServiceLogin } from './credentials.js';
import { mapPgError } from './errors.js';
import { callerRole } from './identifiers.js';
import type { PostgresSettings } from './settings.js';
import { SQLSTATE, sqlStateOf } from './sqlstate.js';
import { type RequestFailure, runRequest } from './request.js';
import { PostgresStore } from './store.js';

/** Connections the service keeps; requests beyond wait for one. */
const POOL_SIZE = 8;
/** A request that gets no answer from the database in this time is answered with an error. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * A request's transaction never waits on its client for longer than a round trip: its statements
 * are sent together, and the service answers between them in microseconds. One whose connection
 * stopped carrying answers back (seen after a failover: the server idle in the transaction, the
 * client still waiting for the answer to a statement the server had answered) would otherwise
 * hold the caller's quota lock for as long as the service runs, and every later write of that
 * user would wait behind it. PostgreSQL ends such a session after this time: its transaction is
 * rolled back, its locks are free, and the request, lost before COMMIT, runs again on a new
 * connection, within the request's timeout.
 */
const STALLED_TRANSACTION_S = 4;

/** A login refused before anything of the request ran. */
function refusedPassword(err: unknown): boolean {
  return sqlStateOf(err) === SQLSTATE.invalidPassword;
}

/** SET ROLE refused: the role is missing, or the service's login is not a member of it. */
const ROLE_NOT_SET_UP: readonly string[] = [SQLSTATE.undefinedObject, SQLSTATE.insufficientPrivilege, SQLSTATE.invalidParameterValue];

/** How often a request whose connection was lost before its commit is run again. */
const LOST_RETRIES = 3;

/** The connection to the server went away under a request (not: the server refused it). */
const LOST: readonly string[] = [
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'ECONNRESET',
  'EPIPE',
  SQLSTATE.adminShutdown,
  SQLSTATE.crashShutdown,
  // Ended by the server for stalling (STALLED_TRANSACTION_S): the transaction was rolled back.
  SQLSTATE.idleInTransactionTimeout,
];

function lostConnection(err: unknown): boolean {
  const cause = err instanceof SessionDbError ? err.cause : err;
  return LOST.includes(sqlStateOf(cause));
}

let guarded = false;

/**
 * postgres.js 3.4.9 sends a transaction's ROLLBACK, or a statement the request sends next, after
 * the transaction's connection has closed without a word (the server died under it: a
 * failover). Its socket is gone by then, and the write throws from a setImmediate
 * (`Immediate.nextWrite`, reading 'write' of null), which ended the service mid-failover; caught,
 * it left the bytes queued, and that connection's every later login timed out (upstream issues
 * 1208 and 1215, fixes not released). patches/postgres+3.4.9.patch, applied by patch-package at
 * npm install, fails such a write with CONNECTION_CLOSED and drops its bytes, and fails a
 * transaction's statements once its connection has closed. This guard stays as a second line,
 * for a postgres.js without the patch: that one error is logged and dropped. Every other uncaught
 * exception ends the process.
 */
function surviveWritesOnClosedConnections(): void {
  if (guarded) return;
  guarded = true;
  process.on('uncaughtException', (err) => {
    const stack = err instanceof Error ? (err.stack ?? '') : '';
    if (err instanceof TypeError && /reading 'write'/.test(err.message) && /\bnextWrite\b/.test(stack)) {
      process.stderr.write('<4>x2gosessiond: PostgreSQL: dropped a write on a connection that had closed (postgres.js)\n');
      return;
    }
    process.stderr.write(`${stack || String(err)}\n`);
    process.exit(1);
  });
}

export async function sharedPostgres(settings: Settings<PostgresSettings>): Promise<SharedStores> {
  surviveWritesOnClosedConnections();
  const pg = settings.backend;
  const login = liveServiceLogin(settings.configDir);
  const pool = connectPool(pg, login, POOL_SIZE, { prepared: true, stalledTransactionS: STALLED_TRANSACTION_S });
  const target = describeTarget(pg);
  return {
    withStore: async (caller, work, access = 'write') => {
      const role = callerRole(caller);
      // Set once the caller has been answered (timeout): a request still waiting for a
      // connection must then not run at all.
      let answered = false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          answered = true;
          reject(
            new SessionDbError(
              'unavailable',
              `PostgreSQL at ${target} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s; the change, if any, may or may not have been made`,
            ),
          );
        }, REQUEST_TIMEOUT_MS);
      });
      const once = async (retries = LOST_RETRIES): Promise<unknown> => {
        let failure: RequestFailure = { committing: false };
        try {
          return await runRequest(
            pool,
            role,
            access,
            // The request's transaction serves as the store's connection.
            (session) => work(new PostgresStore(session, target, settings.telekinesis, pg.scope)),
            { stillWanted: () => !answered, lost: lostConnection, failed: (f) => (failure = f) },
          );
        } catch (err) {
          // The role could not be set: every later failure of the request comes from that.
          if (failure.roleRefused !== undefined && ROLE_NOT_SET_UP.includes(sqlStateOf(failure.roleRefused))) {
            throw new SessionDbError(
              'unavailable',
              `${role} is not set up for the session service; run: x2godbadmin --adduser ${storedUserName(caller)}`,
            );
          }
          // The connection was lost before COMMIT was sent (the primary died, a failover): the
          // server rolled the transaction back with it, so the request runs again, on the next
          // connection, which the pool makes to whichever server accepts writes now. Lost
          // during COMMIT, the change may or may not have been made: that is the caller's answer.
          if (!failure.committing && !answered && retries > 0 && lostConnection(err)) return once(retries - 1);
          if (failure.committing && lostConnection(err)) {
            throw new SessionDbError(
              'unavailable',
              `the connection to PostgreSQL at ${target} was lost during COMMIT; the change, if any, may or may not have been made`,
              { cause: err },
            );
          }
          throw err;
        }
      };
      const attempt = once;
      // Nothing ran on a connection whose login was refused, so the request may run again.
      const request = attempt().catch((err: unknown) => {
        if (!refusedPassword(err)) throw err;
        if (login.reread()) return attempt();
        throw login.problem() ?? err;
      });
      try {
        return (await Promise.race([request, timeout])) as Awaited<ReturnType<typeof work>>;
      } catch (err) {
        throw mapPgError(err, 'run the request', target);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => pool.end({ timeout: 5 }),
  };
}
