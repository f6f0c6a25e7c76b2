// Connecting with postgres.js: one connection per process, a bounded connect timeout, the
// reference's ssl modes, and several hosts (host=db1,db2 in [postgres]) with failover to the
// one that accepts writes. Every option is given explicitly, so PG* variables in the caller's
// environment cannot redirect us.

import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import postgres from 'postgres';
import { dialer, NO_PRIMARY } from './dialer.js';
import type { LiveLogin, Login } from './credentials.js';
import { describeTargets, type PostgresSettings, type PostgresTarget } from './settings.js';

/**
 * What statements run on: a connection of our own or a transaction (the driver's common part).
 * The store needs no more, so it runs alike on a helper's connection and in a service request.
 */
export type Sql = postgres.ISql;
/** A connection of our own: it also begins transactions and ends. */
export type ConnectionSql = postgres.Sql;

/** How long a server may stay silent while we connect before it counts as unreachable. */
export const CONNECT_TIMEOUT_S = 5;

/** libpq's modes in postgres.js terms. "allow" becomes "prefer": both accept either kind of server. */
function sslOption(ssl: PostgresSettings['ssl']): false | 'prefer' | 'require' {
  return ssl === 'disable' ? false : ssl === 'require' ? 'require' : 'prefer';
}

/** host:port as the administrator configured it, for messages. */
export function describeTarget(settings: PostgresSettings): string {
  return describeTargets(settings.targets);
}

/** The configured servers, names resolved where /etc/hosts knows them (see address()). */
function resolvedTargets(settings: PostgresSettings): PostgresTarget[] {
  return settings.targets.map((t) => ({ host: address(t.host), port: t.port }));
}

/**
 * A transaction's statements, and savepoints in it: postgres.js's own transaction, or the
 * resident service's request (request.ts).
 */
export type Tx = Sql & { savepoint<T>(work: (sp: Tx) => Promise<T>): Promise<T> };

/**
 * What the store runs its statements on: a process's own connection (connect() below), or in
 * the resident service a request's transaction, already switched to the caller's role.
 */
export interface PgSession {
  sql: Sql;
  /** Several statements as one: a transaction, or a savepoint inside the request's transaction. */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * A store call's last statement, which changes what it changes by itself: a service request
   * that is this one call sends its COMMIT with it (request.ts). Elsewhere, the statement as it is.
   */
  last<Q extends Promise<unknown> & { execute(): unknown }>(statement: Q): Q;
  /**
   * Runs an operation; until the connection has proved itself once, it fails when the server
   * stays silent for the connect timeout (see connect()).
   */
  guard<T>(operation: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A process's own connection (connect() below): its statements may also begin transactions. */
export interface PgConnection extends PgSession {
  sql: ConnectionSql;
}

/**
 * A connection to the configured server(s) as `login`. Nothing is sent until the first query,
 * which is also what proves the connection (no separate round trip for that).
 *
 * The connect timeout is ours and counts silence, not time: it restarts whenever the server
 * sends something. A server that says nothing for
 * CONNECT_TIMEOUT_S is given up (after trying each configured host); a busy server that is
 * slowly answering 64 logins at once on two cores is waited for. postgres.js's own timeout
 * counts from the start and would fail those logins, and after a peer that accepts and closes
 * it reconnects without end; so it is only a backstop here, and we make its sockets.
 */
export function connect(settings: PostgresSettings, login: Login, database = settings.database): PgConnection {
  let current: Socket | undefined;
  let progress: () => void = () => {};
  let giveUp: () => void = () => {};
  // The server reports its parameters right after it accepted the login. From then on, silence
  // is the server at work (a statement waiting for a lock another login holds), not a host that
  // does not answer: the silence timeout is for connecting only.
  let loggedIn = false;
  const onLogin = () => {
    loggedIn = true;
  };
  const dial = dialer(resolvedTargets(settings), (socket) => {
    // A new attempt: the one before did not end in a usable connection (a standby logs us in too).
    loggedIn = false;
    // Only what the server says counts: a peer that accepts and closes (and is reconnected to
    // again and again) is silent.
    socket.on('data', () => progress());
    current = socket;
    // Standbys answer, so a failover in progress is not silence: it is given the connect
    // timeout as a whole, then the call fails (libpq would fail after one round).
    const since = dial.failingSince();
    if (since !== undefined && performance.now() - since > CONNECT_TIMEOUT_S * 1000) giveUp();
  });
  const targets = settings.targets;
  let attempts = 0;
  const sql = pg(
    settings,
    login,
    database,
    () => {
      attempts++;
      return dial.socket();
    },
    undefined,
    onLogin,
  );
  let proven = false;
  return {
    sql,
    transaction: <T>(work: (tx: Tx) => Promise<T>) => sql.begin((tx) => work(tx as unknown as Tx)) as Promise<T>,
    last: (statement) => statement,
    close: () => close(sql),
    guard: async (operation) => {
      if (proven) return operation();
      let timer: NodeJS.Timeout | undefined;
      let silentFrom = attempts;
      const deadline = new Promise<never>((_, reject) => {
        const restart = () => {
          clearTimeout(timer);
          timer = setTimeout(silence, CONNECT_TIMEOUT_S * 1000);
        };
        const silence = () => {
          if (loggedIn) return;
          // Each configured host gets its silence before we give up.
          if (attempts - silentFrom < targets.length) {
            silentFrom = attempts - 1;
            current?.destroy(Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' }));
            restart();
            return;
          }
          reject(Object.assign(new Error('connect timeout'), { code: 'CONNECT_TIMEOUT' }));
        };
        progress = () => {
          silentFrom = attempts;
          restart();
        };
        giveUp = () => reject(Object.assign(new Error('no primary'), { code: NO_PRIMARY }));
        restart();
      });
      try {
        const result = await Promise.race([operation(), deadline]);
        proven = true;
        return result;
      } finally {
        clearTimeout(timer);
        progress = () => {};
        giveUp = () => {};
      }
    },
  };
}

/**
 * Ends the connection without waiting for the server to acknowledge: every answer the caller
 * got was already committed, and waiting for the goodbye costs a helper call about 3 ms.
 */
function close(sql: ConnectionSql): Promise<void> {
  void sql.end({ timeout: 0 });
  return Promise.resolve();
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The first IPv4 address /etc/hosts gives a name, as the resolver's "files" source would. */
function fromHostsFile(name: string): string | undefined {
  try {
    for (const line of readFileSync('/etc/hosts', 'utf8').split('\n')) {
      const [ip, ...names] = (line.split('#')[0] ?? '').trim().split(/\s+/);
      if (ip && IPV4.test(ip) && names.includes(name)) return ip;
    }
  } catch {
    // no hosts file: the resolver decides
  }
  return undefined;
}

/**
 * A configured host as an IPv4 address where /etc/hosts knows one. Node tests
 * every name it resolves or connects to against its IPv6 pattern, whose compilation costs each
 * helper call over 3 ms; an IPv4 address skips that test. Other names go to the resolver.
 */
function address(host: string): string {
  return IPV4.test(host) ? host : (fromHostsFile(host) ?? host);
}

/**
 * A pool for the resident service: `max` connections as `login`. A few connections, made while
 * no login storm competes for the CPU, so postgres.js's own connect timeout serves here (ours
 * above is for a crowd of fresh processes). A connection lost when the server went away is
 * made again with the next request, not after postgres.js's growing back-off: the server's
 * return is noticed at once. The password is asked for at each connection: one rewritten since
 * (x2godbadmin --createdb) is used from the next connection on, while those made before go on.
 */
export function connectPool(
  settings: PostgresSettings,
  login: LiveLogin,
  max: number,
  { prepared = false, stalledTransactionS }: { prepared?: boolean; stalledTransactionS?: number } = {},
): ConnectionSql {
  const dial = dialer(resolvedTargets(settings));
  const socket = () => dial.socket();
  return pg(settings, { user: login.user, password: () => login.password() }, settings.database, socket, {
    max,
    connectTimeoutS: CONNECT_TIMEOUT_S,
    backoffS: 0,
    // The requests' pool (shared.ts): each statement parsed and planned once per connection,
    // then only bound to its values (PostgreSQL plans again when the role a plan was made for
    // under row-level security changes).
    prepare: prepared,
    stalledTransactionS,
  });
}

/** postgres.js's own connect timeout: a backstop far behind ours (see connect()). */
const BACKSTOP_TIMEOUT_S = 60;

interface PoolShape {
  max: number;
  connectTimeoutS: number;
  /** Seconds before a lost connection is made again; postgres.js grows it up to 20 s by default. */
  backoffS?: number;
  /** Named statements, parsed once per connection; a process's one use gains nothing from them. */
  prepare?: boolean;
  /** PostgreSQL ends a session left idle inside a transaction this long (see shared.ts). */
  stalledTransactionS?: number | undefined;
}

function pg(
  settings: PostgresSettings,
  login: Login | { user: string; password: () => string },
  database: string,
  socket: () => Socket | Promise<Socket>,
  shape: PoolShape = { max: 1, connectTimeoutS: BACKSTOP_TIMEOUT_S },
  onLogin?: () => void,
): ConnectionSql {
  const multiHost = settings.targets.length > 1;
  // `socket` (a function returning the connection's socket) is postgres.js API its types omit.
  const options: postgres.Options<Record<string, never>> & { socket: () => Socket | Promise<Socket> } = {
    socket,
    // Only the count matters to postgres.js (we make the sockets): with more than one host, a
    // connection that fails while connecting is made again, to the next host.
    // (arrays, which postgres.js takes though its types say one value).
    host: settings.targets.map((t) => t.host) as unknown as string,
    port: settings.targets.map((t) => t.port) as unknown as number,
    database,
    username: login.user,
    password: login.password,
    ssl: sslOption(settings.ssl),
    max: shape.max,
    connect_timeout: shape.connectTimeoutS,
    ...(shape.backoffS === undefined ? {} : { backoff: () => shape.backoffS as number }),
    idle_timeout: 0,
    prepare: shape.prepare ?? false,
    fetch_types: false,
    onnotice: () => {},
    ...(onLogin ? { onparameter: onLogin } : {}),
    // Startup parameters: sent with the login, no round trip of their own.
    connection: {
      application_name: 'x2godb',
      ...(shape.stalledTransactionS === undefined ? {} : { idle_in_transaction_session_timeout: shape.stalledTransactionS * 1000 }),
    },
    // libpq's read-write: skip a standby. postgres.js's 'read-write' looks only at
    // default_transaction_read_only, which a PostgreSQL 14+ standby reports as off, so it
    // stays on the standby; its 'primary' looks at in_hot_standby (reported since 14, asked
    // with pg_is_in_recovery() before), which is what tells a standby from the primary.
    ...(multiHost ? { target_session_attrs: 'primary' as const } : {}),
  };
  return postgres(options);
}
