// The session store on one SQLite file, in the reference's schema. The statements are the
// reference's, with every value bound as a parameter. SQLite has no users of its own: who may
// touch which row is decided by SessionDb, and the file itself is reachable only through the
// setgid launcher.

import { drainingRefusal, type StoredNode, storedNodeOf } from '../../model/farm.js';
import { statSync } from 'node:fs';
import { SessionDbError } from '../../model/errors.js';
import { lowestFree } from '../../model/allocation.js';
import { statusEvent, type EventActor, type EventFilter, type SessionEvent } from '../../model/history.js';
import { createdBy, type Holdings, type QuotaGuard } from '../../model/quota.js';
import type { SessionLimitGuard } from '../../model/session-limit.js';
import { SESSION_COLUMNS, sessionRowOf, type SessionColumn } from '../../model/session-columns.js';
import type { AgentStart, NewSession, Reservation, Reserved, SessionFilter, SessionStore } from '../../model/store.js';
import { MAX_PORT, MAX_PORTS_PER_SESSION } from '../../model/validate.js';
import type { Mount, ServerLoad, SessionEndpoint, SessionRow, SessionStatus } from '../../model/types.js';
import { openDatabase, retryWhileBusy, writeTransaction, type Database } from './connection.js';
import { mapSqliteError, type ConflictMessages } from './errors.js';
import { pruneEvents, readEvents, recordRowEvent } from './history.js';

/** One session column as SQLite selects it; times in local time, as the reference stores them. */
function selected(c: SessionColumn): string {
  switch (c.kind) {
    case 'integer':
    case 'text':
    case 'padded-text':
      return c.column;
    case 'time':
      return `strftime('%Y-%m-%dT%H:%M:%S', ${c.column})`;
    case 'age':
      return `strftime('%s', 'now', 'localtime') - strftime('%s', ${c.column})`;
  }
}

// The listing columns in the reference's order, from the model's one list (constant names only).
const SELECTED_COLUMNS = SESSION_COLUMNS.map(selected).join(', ');

const NOW = "datetime('now', 'localtime')";

/**
 * How a store waits for a lock held by another process. By default (a helper process, which has
 * nothing else to do) it blocks in SQLite's busy wait. A thread that serves others (the resident
 * service) blocks at most `busyTimeoutMs` per attempt and waits asynchronously between attempts,
 * for at most `retryForMs` in all.
 */
export interface YieldingWait {
  busyTimeoutMs: number;
  retryForMs: number;
}

export class SqliteStore implements SessionStore {
  readonly #db: Database;
  readonly #path: string;
  readonly #yielding: YieldingWait | undefined;

  constructor(db: Database, path: string, yielding?: YieldingWait) {
    this.#db = db;
    this.#path = path;
    this.#yielding = yielding;
  }

  static open(path: string, yielding?: YieldingWait): SqliteStore {
    // A yielding store serves many requests (the service's): its statements are kept.
    return new SqliteStore(
      openDatabase(path, yielding ? { busyTimeoutMs: yielding.busyTimeoutMs, reuseStatements: true } : {}),
      path,
      yielding,
    );
  }

  schemaVersion(): Promise<number> {
    return this.#read('read the schema version', () => this.#db.pragma('user_version', { simple: true }) as number);
  }

  ownedBy(uid: number): boolean {
    return statSync(this.#path).uid === uid;
  }

  #read<T>(action: string, work: () => T): Promise<T> {
    if (this.#yielding)
      return retryWhileBusy(work, this.#yielding.retryForMs).catch((err: unknown) => Promise.reject(mapSqliteError(err, action)));
    try {
      return Promise.resolve(work());
    } catch (err) {
      return Promise.reject(mapSqliteError(err, action));
    }
  }

  #write<T>(action: string, work: () => T, conflicts?: ConflictMessages): Promise<T> {
    if (this.#yielding) {
      const tx = this.#db.transaction(work);
      return retryWhileBusy(() => tx.immediate(), this.#yielding.retryForMs).catch((err: unknown) =>
        Promise.reject(mapSqliteError(err, action, conflicts)),
      );
    }
    try {
      return Promise.resolve(writeTransaction(this.#db, work));
    } catch (err) {
      return Promise.reject(mapSqliteError(err, action, conflicts));
    }
  }

  listSessions(filter: SessionFilter): Promise<SessionRow[]> {
    // The conditions are fixed fragments; only their values vary, and those are bound.
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (!filter.includeFinished) where.push("status != 'F'");
    if (filter.server !== undefined) {
      where.push('server = ?');
      params.push(filter.server);
    }
    if (filter.uname !== undefined) {
      where.push('uname = ?');
      params.push(filter.uname);
    }
    // The launcher reads the state files of a superset of these (listed_by, x2godb-listing.c).
    if (filter.kind === 'desktop') where.push("session_id not like '%XSHAD%'");
    if (filter.kind === 'shadow') where.push("session_id like '%XSHAD%'");
    const sql = `select ${SELECTED_COLUMNS} from sessions${where.length ? ` where ${where.join(' and ')}` : ''}
      order by status desc`;
    return this.#read('list sessions', () =>
      (
        this.#db
          .prepare(sql)
          .raw()
          .all(...params) as unknown[][]
      ).map(sessionRowOf),
    );
  }

  getSession(sessionId: string): Promise<SessionRow | undefined> {
    return this.#read('read session', () => {
      const raw = this.#db.prepare(`select ${SELECTED_COLUMNS} from sessions where session_id = ?`).raw().get(sessionId) as
        | unknown[]
        | undefined;
      return raw && sessionRowOf(raw);
    });
  }

  /**
   * Inside a write transaction (BEGIN IMMEDIATE: no other writer until it ends), what quota.user
   * created, then the model's check. The file records no creator, so the candidates (rows in the
   * user's name, ids that may share the user's desktop) are narrowed by the model's createdBy.
   */
  #checkQuota(quota: QuotaGuard | undefined): void {
    if (!quota) return;
    const rows = this.#db
      .prepare(
        `select s.session_id, s.uname, count(p.port) from sessions s left join used_ports p on p.session_id = s.session_id
         where s.uname = ? or instr(s.session_id, ?) > 0 group by s.session_id, s.uname`,
      )
      .raw()
      .all(quota.user, `XSHAD${quota.user}XSHAD`) as [string, string, number][];
    const held: Holdings = { sessions: 0, ports: 0 };
    for (const [sessionId, uname, ports] of rows) {
      if (createdBy(sessionId, uname) !== quota.user) continue;
      held.sessions++;
      held.ports += ports;
    }
    quota.assertRoom(held);
  }

  /**
   * x2gosessionlimit's count, inside the reservation's write transaction: the user's sessions
   * that are not finished, as `x2golistsessions --all-servers` lists them (not desktop sharing).
   */
  #checkLimit(limit: SessionLimitGuard | undefined): void {
    if (!limit) return;
    const count = this.#db
      .prepare("select count(*) from sessions where uname = ? and status != 'F' and session_id not like '%XSHAD%'")
      .pluck()
      .get(limit.user) as number;
    limit.assertBelow(count);
  }

  insertSession(s: NewSession): Promise<void> {
    return this.#write(
      'insert session',
      () => {
        this.#checkQuota(s.quota);
        this.#db
          .prepare(
            `insert into sessions (display, server, uname, session_id, init_time, last_time)
             values (?, ?, ?, ?, ${NOW}, ${NOW})`,
          )
          .run(s.display, s.server, s.uname, s.sessionId);
        recordRowEvent(this.#db, s.sessionId, 'created', s.by);
      },
      {
        'sessions.display': `display ${s.display} is already in use`,
        'sessions.session_id': `session ${s.sessionId} already exists`,
      },
    );
  }

  markStarted(sessionId: string, uname: string, start: AgentStart, by?: EventActor): Promise<number> {
    const e = start.endpoint;
    return this.#write('record agent start', () => {
      const changes = this.#db
        .prepare(
          `update sessions set status = 'R', last_time = ${NOW}, cookie = ?, agent_pid = ?,
             client = ?, gr_port = ?, sound_port = ?, fs_port = ?, tekictrl_port = ?, tekidata_port = ?
           where session_id = ? and uname = ?`,
        )
        .run(
          start.cookie,
          start.agentPid,
          e.client,
          e.grPort,
          e.soundPort,
          e.fsPort,
          e.tekictrlPort,
          e.tekidataPort,
          sessionId,
          uname,
        ).changes;
      if (changes > 0) recordRowEvent(this.#db, sessionId, 'started', by, { client: e.client });
      return changes;
    });
  }

  markResumed(sessionId: string, uname: string, e: SessionEndpoint, by?: EventActor): Promise<number> {
    return this.#write('record resume', () => {
      const changes = this.#db
        .prepare(
          `update sessions set last_time = ${NOW}, status = 'R',
             client = ?, gr_port = ?, sound_port = ?, fs_port = ?, tekictrl_port = ?, tekidata_port = ?
           where session_id = ? and uname = ?`,
        )
        .run(e.client, e.grPort, e.soundPort, e.fsPort, e.tekictrlPort, e.tekidataPort, sessionId, uname).changes;
      if (changes > 0) recordRowEvent(this.#db, sessionId, 'resumed', by, { client: e.client });
      return changes;
    });
  }

  setStatus(sessionId: string, uname: string, status: SessionStatus, by?: EventActor, from?: SessionStatus): Promise<number> {
    return this.#write('change status', () => {
      const update = `update sessions set last_time = ${NOW}, status = ? where session_id = ? and uname = ?`;
      const changes = (
        from === undefined
          ? this.#db.prepare(update).run(status, sessionId, uname)
          : this.#db.prepare(`${update} and status = ?`).run(status, sessionId, uname, from)
      ).changes;
      if (changes > 0) {
        const { event, detail } = statusEvent(status);
        recordRowEvent(this.#db, sessionId, event, by, { detail });
      }
      return changes;
    });
  }

  deleteSession(sessionId: string, by?: EventActor): Promise<boolean> {
    return this.#write('remove session', () => {
      // The event first, while the row is there to name its user and server.
      recordRowEvent(this.#db, sessionId, 'purged', by);
      // Mounts first: the reference's trigger refuses to delete a session that still has some.
      this.#db.prepare('delete from mounts where session_id = ?').run(sessionId);
      this.#db.prepare('delete from used_ports where session_id = ?').run(sessionId);
      return this.#db.prepare('delete from sessions where session_id = ?').run(sessionId).changes > 0;
    });
  }

  // The reference's SQLite schema makes displays and ports unique across the file, so the
  // server argument does not narrow these lists (it never did).
  displays(_server: string): Promise<number[]> {
    return this.#read('list displays', () => this.#db.prepare('select display from sessions').pluck().all() as number[]);
  }

  ports(_server: string): Promise<number[]> {
    return this.#read('list ports', () => this.#db.prepare('select port from used_ports').pluck().all() as number[]);
  }

  servers(): Promise<ServerLoad[]> {
    return this.#read('list servers', () =>
      (this.#db.prepare("select server, count(*) from sessions where status != 'F' group by server").raw().all() as [string, number][]).map(
        ([server, sessions]) => ({ server, sessions }),
      ),
    );
  }

  nodes(): Promise<StoredNode[]> {
    return this.#read('list nodes', () =>
      (
        this.#db
          .prepare(
            `select server, state, weight, capacity, load, (julianday('now') - julianday(last_seen)) * 86400.0 as since from nodes order by server`,
          )
          .all() as Record<string, unknown>[]
      ).map(storedNodeOf),
    );
  }

  /** One BEGIN IMMEDIATE transaction: SQLite serialises writers, so the picks cannot collide. */
  reserve(r: Reservation): Promise<Reserved> {
    return this.#write('reserve a session', () => {
      this.#checkQuota(r.quota);
      if (this.#db.prepare('select state from nodes where server = ?').pluck().get(r.server) === 'draining') {
        throw drainingRefusal(r.server, r.uname);
      }
      this.#checkLimit(r.limit);
      const displays = new Set(this.#db.prepare('select display from sessions').pluck().all() as number[]);
      const [display = 0] = lowestFree('display', 1, r.displayStart, r.displayEnd, displays, r.busyDisplays);
      const sessionId = r.sessionId(display);
      this.#db
        .prepare(
          `insert into sessions (display, server, uname, session_id, init_time, last_time)
           values (?, ?, ?, ?, ${NOW}, ${NOW})`,
        )
        .run(display, r.server, r.uname, sessionId);
      const held = new Set(this.#db.prepare('select port from used_ports').pluck().all() as number[]);
      const ports = lowestFree('port', r.portCount, r.portStart, MAX_PORT, held, r.busyPorts);
      const insert = this.#db.prepare('insert into used_ports (server, session_id, port) values (?, ?, ?)');
      for (const port of ports) insert.run(r.server, sessionId, port);
      recordRowEvent(this.#db, sessionId, 'created', r.by);
      return { sessionId, display, ports, retries: 0 };
    });
  }

  #assertSessionExists(sessionId: string): void {
    if (!this.#db.prepare('select 1 from sessions where session_id = ?').get(sessionId)) {
      throw new SessionDbError('not-found', `no session ${sessionId} in the session database`);
    }
  }

  insertPort(server: string, sessionId: string, port: number, quota?: QuotaGuard): Promise<void> {
    return this.#write(
      'reserve port',
      () => {
        this.#assertSessionExists(sessionId);
        if (quota) {
          // Ports count against whoever created the session, so only they add some (PostgreSQL's
          // row-level security requires the same): a viewer cannot fill the sharer's quota.
          const uname = this.#db.prepare('select uname from sessions where session_id = ?').pluck().get(sessionId) as string;
          const creator = createdBy(sessionId, uname);
          if (creator !== quota.user) {
            throw new SessionDbError('invalid', `ports of session ${sessionId} are added by ${creator}, who started it`);
          }
        }
        this.#checkQuota(quota);
        const held = this.#db.prepare('select count(*) from used_ports where session_id = ?').pluck().get(sessionId);
        if ((held as number) >= MAX_PORTS_PER_SESSION) {
          throw new SessionDbError('conflict', `session ${sessionId} already holds ${MAX_PORTS_PER_SESSION} ports`);
        }
        this.#db.prepare('insert into used_ports (server, session_id, port) values (?, ?, ?)').run(server, sessionId, port);
      },
      { 'used_ports.port': `port ${port} is already in use` },
    );
  }

  deletePort(server: string, sessionId: string, port: number): Promise<void> {
    return this.#write('release port', () => {
      this.#db.prepare('delete from used_ports where server = ? and session_id = ? and port = ?').run(server, sessionId, port);
    });
  }

  mounts(sessionId: string): Promise<Mount[]> {
    return this.#read('list mounts', () =>
      (this.#db.prepare('select client, path from mounts where session_id = ?').raw().all(sessionId) as [string | number, string][]).map(
        ([client, path]) => ({ client, path }),
      ),
    );
  }

  insertMount(sessionId: string, path: string, client: string): Promise<void> {
    return this.#write('record mount', () => {
      this.#assertSessionExists(sessionId);
      this.#db.prepare('insert into mounts (session_id, path, client) values (?, ?, ?)').run(sessionId, path, client);
    });
  }

  deleteMount(sessionId: string, path: string): Promise<void> {
    return this.#write('remove mount', () => {
      this.#db.prepare('delete from mounts where session_id = ? and path = ?').run(sessionId, path);
    });
  }

  deleteMounts(sessionId: string): Promise<void> {
    return this.#write('remove mounts', () => {
      this.#db.prepare('delete from mounts where session_id = ?').run(sessionId);
    });
  }

  events(filter: EventFilter): Promise<SessionEvent[]> {
    return this.#read('read the history', () => readEvents(this.#db, filter));
  }

  pruneEvents(before: Date): Promise<number> {
    return this.#write('prune the history', () => pruneEvents(this.#db, before));
  }

  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }
}
