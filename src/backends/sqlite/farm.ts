// The farm on SQLite (see model/farm.ts): one node, the host itself, implicit. No heartbeat is
// written (nobody else reads it, and the file is what every helper locks); a nodes row exists
// only if an administrator put one there, and is never down. There is nobody to clean up after
// or to send requests to, so those optional methods are absent. The file is
// opened for each operation: x2godbadmin --createdb --force may replace it under a long-running
// service. Loaded only by x2gosessiond and x2go-sessiondb's farm commands.

import { farmSessionOf, type FarmNode, type FarmStore, type NodeChange, type SessionFilter } from '../../model/farm.js';
import { openDatabase, writeTransaction, type Database } from './connection.js';
import { mapSqliteError } from './errors.js';
import { recordSessionEvent } from './history.js';
import type { NewSessionEvent } from '../../model/history.js';

/** The service's thread also answers callers: a heartbeat that finds the file locked waits little and tries next time. */
const BUSY_TIMEOUT_MS = 200;

const SESSION_COLUMNS = `session_id, uname, server, status, display, client, agent_pid,
  replace(init_time, ' ', 'T') as init_time, replace(last_time, ' ', 'T') as last_time`;

type Row = Record<string, unknown>;

export function openSqliteFarm(path: string): FarmStore {
  const withDb = <T>(action: string, work: (db: Database) => T): Promise<T> => {
    let db: Database | undefined;
    try {
      db = openDatabase(path, { busyTimeoutMs: BUSY_TIMEOUT_MS });
      return Promise.resolve(work(db));
    } catch (err) {
      return Promise.reject(mapSqliteError(err, action));
    } finally {
      db?.close();
    }
  };

  return {
    // The one node is the host itself: never down, whatever the timeout.
    nodes: () =>
      withDb('list the nodes', (db) =>
        (
          db.prepare(`select *, (julianday('now') - julianday(last_seen)) * 86400.0 as since from nodes order by server`).all() as Row[]
        ).map((r): FarmNode => {
          const since = Number(r.since);
          const setState = r.state === 'draining' ? 'draining' : 'active';
          const utc = (t: unknown) => `${String(t).slice(0, 19).replace(' ', 'T')}Z`;
          return {
            server: String(r.server),
            state: setState,
            setState,
            weight: Number(r.weight),
            capacity: r.capacity == null ? null : Number(r.capacity),
            load: r.load == null ? null : (JSON.parse(String(r.load)) as FarmNode['load']),
            version: String(r.version),
            pid: r.pid == null ? null : Number(r.pid),
            startedAt: utc(r.started_at),
            lastSeen: utc(r.last_seen),
            secondsSinceSeen: since,
          };
        }),
      ),

    setNode: (server: string, change: NodeChange) =>
      withDb('change the node', (db) =>
        writeTransaction(db, () => {
          if (!db.prepare('select 1 from nodes where server = ?').get(server)) return false;
          if (change.state !== undefined) db.prepare('update nodes set state = ? where server = ?').run(change.state, server);
          if (change.weight !== undefined) db.prepare('update nodes set weight = ? where server = ?').run(change.weight, server);
          if (change.capacity !== undefined) db.prepare('update nodes set capacity = ? where server = ?').run(change.capacity, server);
          return true;
        }),
      ),

    sessions: (f: SessionFilter) =>
      withDb('list the sessions', (db) =>
        (
          db
            .prepare(
              `select ${SESSION_COLUMNS} from sessions
               where (@user is null or uname = @user) and (@server is null or server = @server) and (@status is null or status = @status)
                 and (@older is null or last_time < datetime('now', 'localtime', '-' || @older || ' seconds'))
               order by server, uname, init_time, session_id`,
            )
            .all({ user: f.user ?? null, server: f.server ?? null, status: f.status ?? null, older: f.olderThanS ?? null }) as Row[]
        ).map(farmSessionOf),
      ),

    recordEvent: (event: NewSessionEvent) =>
      withDb('record a session event', (db) => writeTransaction(db, () => recordSessionEvent(db, event))),

    close: () => Promise.resolve(),
  };
}
