// The session store on PostgreSQL. Each process connects as the caller's own role
// (x2gouser_<name>, or x2godbuser for root), so the database's row-level security decides what
// the caller sees and changes; SessionDb's checks run first, as a second line. Every value is a
// bound parameter (postgres.js tagged templates); multi-statement changes run in one transaction.

import { freeNumbers } from '../../model/allocation.js';
import { statusEvent, type EventActor, type EventFilter, type SessionEvent } from '../../model/history.js';
import type { QuotaGuard } from '../../model/quota.js';
import type { SessionLimitGuard } from '../../model/session-limit.js';
import type { AgentStart, NewSession, Reservation, Reserved, SessionFilter, SessionStore } from '../../model/store.js';
import { MAX_PORT } from '../../model/validate.js';
import type { Scope } from '../../model/backend.js';
import type { Mount, ServerLoad, SessionEndpoint, SessionRow, SessionStatus } from '../../model/types.js';
import { SessionDbError } from '../../model/errors.js';
import { drainingRefusal, type StoredNode, storedNodeOf } from '../../model/farm.js';
import { SESSION_COLUMNS, sessionRowOf, type SessionColumn } from '../../model/session-columns.js';
import { quoteIdent } from './identifiers.js';
import type { PgSession, Sql, Tx } from './connection.js';
import { mapPgError, type ConflictMessages } from './errors.js';
import { SQLSTATE } from './sqlstate.js';
import { EVENT_COLUMNS, eventValues, pruneEvents, readEvents } from './history.js';

/** One session column as PostgreSQL selects it: the cookie without char(33)'s padding, age in whole seconds. */
function selected(c: SessionColumn): string {
  const column = quoteIdent(c.column);
  switch (c.kind) {
    case 'integer':
    case 'text':
      return column;
    case 'padded-text':
      return `rtrim(${column})`;
    case 'time':
      return `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS')`;
    case 'age':
      return `floor(extract(epoch from now() - ${column}))::int8`;
  }
}

// The listing columns in the reference's order, from the model's one list (constant names, quoted).
const SELECTED_COLUMNS = SESSION_COLUMNS.map(selected).join(', ');

/** How many candidates a reservation may lose to other starters before giving up. */
const MAX_RESERVATION_RETRIES = 1000;

export class PostgresStore implements SessionStore {
  readonly #session: PgSession;
  readonly #sql: Sql;
  readonly #target: string;
  /** The reference writes and prints the telekinesis ports only when telekinesis is enabled. */
  readonly #telekinesis: boolean;
  /** Per server, displays and ports are the server's own; across the farm, everyone's. */
  readonly #perServer: boolean;

  constructor(session: PgSession, target: string, telekinesis: boolean, scope: Scope) {
    this.#session = session;
    this.#sql = session.sql;
    this.#target = target;
    this.#telekinesis = telekinesis;
    this.#perServer = scope === 'per-server';
  }

  async #run<T>(action: string, work: () => Promise<T>, conflicts?: ConflictMessages): Promise<T> {
    try {
      return await this.#session.guard(work);
    } catch (err) {
      throw mapPgError(err, action, this.#target, conflicts);
    }
  }

  /** The listing columns (SELECTED_COLUMNS: constant text, no values in it). */
  #columns() {
    return this.#sql.unsafe(SELECTED_COLUMNS);
  }

  listSessions(f: SessionFilter): Promise<SessionRow[]> {
    const sql = this.#sql;
    const none = sql``;
    // The launcher reads the state files of a superset of the kinds' XSHAD filters (listed_by, x2godb-listing.c).
    return this.#run('list sessions', async () => {
      const rows = await sql`select ${this.#columns()} from sessions where true
        ${f.includeFinished ? none : sql`and status != 'F'`}
        ${f.server === undefined ? none : sql`and server = ${f.server}`}
        ${f.uname === undefined ? none : sql`and uname = ${f.uname}`}
        ${f.kind === 'desktop' ? sql`and session_id not like '%XSHAD%'` : none}
        ${f.kind === 'shadow' ? sql`and session_id like '%XSHAD%'` : none}
        order by status desc`.values();
      return (rows as unknown as unknown[][]).map((r) => sessionRowOf(r));
    });
  }

  getSession(sessionId: string): Promise<SessionRow | undefined> {
    return this.#run('read session', async () => {
      const [raw] = await this.#sql`select ${this.#columns()} from sessions where session_id = ${sessionId}`.values();
      return raw && sessionRowOf(raw as unknown as unknown[]);
    });
  }

  /**
   * Inside the inserting transaction: lock the caller's own row of x2go_quota_locks (so the
   * caller's other transactions, on any node, wait here until this one ends), count what the
   * caller's role created (creator_id: recorded by the database, not deduced), and let the model
   * decide. Row-level security lets a role lock only its own row, and, through the service's SET
   * LOCAL ROLE, current_user is the caller's role.
   *
   * `creating` is the write the quota guards, sent right after the count without waiting for
   * it, so they share one round trip where statements are pipelined (the service's requests).
   * The count runs before it (statements run in the order sent), in a snapshot taken after the
   * lock; when the model refuses, the write is undone with the transaction. `checkedFirst`, a
   * check sent before, is decided before the quota, as when each waited for the one before.
   */
  async #withinQuota(
    tx: Tx,
    quota: QuotaGuard | undefined,
    creating: () => Promise<unknown>,
    checkedFirst: Promise<unknown> = Promise.resolve(),
  ): Promise<void> {
    const locked = quota && this.#lockCaller(tx);
    const counted =
      quota &&
      tx`select (select count(*) from sessions where creator_id = current_user)::int as sessions,
        (select count(*) from used_ports where creator_id = current_user)::int as ports`.execute();
    const written = creating();
    // Each failure counts only after the decisions before it.
    for (const answer of [checkedFirst, locked, counted, written]) answer?.catch(() => undefined);
    await checkedFirst;
    if (quota) {
      await locked;
      const [held] = (await counted) ?? [];
      quota.assertRoom({ sessions: Number(held?.sessions ?? 0), ports: Number(held?.ports ?? 0) });
    }
    await written;
  }

  /** The caller's own row of x2go_quota_locks, locked until the transaction ends (see #withinQuota). */
  #lockCaller(tx: Tx): Promise<unknown> {
    return tx`insert into x2go_quota_locks (holder) values (current_user)
      on conflict (holder) do update set holder = excluded.holder`.execute();
  }

  /**
   * x2gosessionlimit's count, in the reservation's transaction and after the caller's lock row
   * (so the user's concurrent starts on every node pass one at a time): the user's sessions that
   * are not finished, on every server, as `x2golistsessions --all-servers` lists them. The
   * user's role sees these rows (uname is theirs); only their own lock serialises them, so no
   * user can hold up another's logins.
   */
  async #checkLimit(tx: Tx, limit: SessionLimitGuard | undefined, locked: boolean): Promise<void> {
    if (!limit) return;
    if (!locked) await this.#lockCaller(tx);
    const [row] = await tx`select count(*)::int as n from sessions
      where uname = ${limit.user} and status != 'F' and session_id not like '%XSHAD%'`;
    limit.assertBelow(Number(row?.n ?? 0));
  }

  /** The history columns of an insert into session_events (constant text). */
  #eventColumns() {
    return this.#sql.unsafe(EVENT_COLUMNS);
  }

  insertSession(s: NewSession): Promise<void> {
    return this.#run(
      'insert session',
      () =>
        this.#session.transaction((tx) =>
          this.#withinQuota(tx, s.quota, () =>
            // One statement: the row and its event.
            tx`with created as (insert into sessions (display, server, uname, session_id)
                values (${s.display}, ${s.server}, ${s.uname}, ${s.sessionId}) returning session_id, uname, server)
              insert into session_events (${this.#eventColumns()})
              select session_id, uname, server, ${eventValues(tx, 'created', s.by)} from created`.execute(),
          ),
        ),
      {
        sessions_display_key: `display ${s.display} is already in use`,
        sessions_server_display_key: `display ${s.display} is already in use on ${s.server}`,
        sessions_pkey: `session ${s.sessionId} already exists`,
      },
    );
  }

  #teki(e: SessionEndpoint) {
    return this.#telekinesis ? this.#sql`, tekictrl_port = ${e.tekictrlPort}, tekidata_port = ${e.tekidataPort}` : this.#sql``;
  }

  // An update and its event are one statement (a data-modifying CTE): atomic without a
  // transaction of their own, and no more round trips than the update alone; a request that is
  // this one call commits with it (PgSession.last). The count is the events written, one per
  // row changed.

  markStarted(sessionId: string, uname: string, start: AgentStart, by?: EventActor): Promise<number> {
    const e = start.endpoint;
    const sql = this.#sql;
    return this.#run('record agent start', async () => {
      const r = await this.#session.last(sql`with changed as (update sessions set status = 'R', last_time = now(), cookie = ${start.cookie},
            agent_pid = ${start.agentPid}, client = ${e.client}, gr_port = ${e.grPort}, sound_port = ${e.soundPort},
            fs_port = ${e.fsPort} ${this.#teki(e)}
          where session_id = ${sessionId} and uname = ${uname} returning session_id, uname, server)
        insert into session_events (${this.#eventColumns()})
        select session_id, uname, server, ${eventValues(sql, 'started', by, e.client)} from changed`);
      return r.count;
    });
  }

  markResumed(sessionId: string, uname: string, e: SessionEndpoint, by?: EventActor): Promise<number> {
    const sql = this.#sql;
    return this.#run('record resume', async () => {
      const r = await this.#session.last(sql`with changed as (update sessions set last_time = now(), status = 'R', client = ${e.client},
            gr_port = ${e.grPort}, sound_port = ${e.soundPort}, fs_port = ${e.fsPort} ${this.#teki(e)}
          where session_id = ${sessionId} and uname = ${uname} returning session_id, uname, server)
        insert into session_events (${this.#eventColumns()})
        select session_id, uname, server, ${eventValues(sql, 'resumed', by, e.client)} from changed`);
      return r.count;
    });
  }

  setStatus(sessionId: string, uname: string, status: SessionStatus, by?: EventActor, from?: SessionStatus): Promise<number> {
    const sql = this.#sql;
    const { event, detail } = statusEvent(status);
    const still = from === undefined ? sql`` : sql`and status = ${from}`;
    return this.#run('change status', async () => {
      const r = await this.#session.last(sql`with changed as (update sessions set last_time = now(), status = ${status}
          where session_id = ${sessionId} and uname = ${uname} ${still} returning session_id, uname, server)
        insert into session_events (${this.#eventColumns()})
        select session_id, uname, server, ${eventValues(sql, event, by, null, detail)} from changed`);
      return r.count;
    });
  }

  deleteSession(sessionId: string, by?: EventActor): Promise<boolean> {
    return this.#run('remove session', () =>
      this.#session.transaction(async (tx) => {
        // Sent together, run in this order: the event first, while the row is there to name its
        // user and server.
        const [, , , row] = await Promise.all([
          tx`insert into session_events (${this.#eventColumns()})
            select session_id, uname, server, ${eventValues(tx, 'purged', by)} from sessions where session_id = ${sessionId}`.execute(),
          tx`delete from mounts where session_id = ${sessionId}`.execute(),
          tx`delete from used_ports where session_id = ${sessionId}`.execute(),
          tx`delete from sessions where session_id = ${sessionId}`.execute(),
        ]);
        return row.count > 0;
      }),
    );
  }

  /** In the farm scope (the reference's), every server's; per server, the server's own. */
  #onServer(server: string) {
    return this.#perServer ? this.#sql`where server = ${server}` : this.#sql``;
  }

  // The views show displays and ports without session ids or users.
  displays(server: string): Promise<number[]> {
    return this.#run('list displays', async () =>
      (await this.#sql`select display from servers_view ${this.#onServer(server)}`.values()).map((r) => r[0] as number),
    );
  }

  ports(server: string): Promise<number[]> {
    return this.#run('list ports', async () =>
      (await this.#sql`select port from ports_view ${this.#onServer(server)}`.values()).map((r) => r[0] as number),
    );
  }

  servers(): Promise<ServerLoad[]> {
    return this.#run('list servers', async () =>
      (await this.#sql`select server, count(*) from servers_view where status != 'F' group by server`.values()).map((r) => ({
        server: r[0] as string,
        sessions: Number(r[1]),
      })),
    );
  }

  nodes(): Promise<StoredNode[]> {
    return this.#run('list nodes', async () =>
      (
        await this.#sql`select server, state, weight, capacity, load::text as load,
          extract(epoch from now() - last_seen)::float8 as since from nodes order by server`
      ).map(storedNodeOf),
    );
  }

  /**
   * Constraint-backed: the lowest candidates are inserted one by one, each under a savepoint;
   * when another starter (our process or a Perl node, on any server of the farm) took one first,
   * the unique constraint says so and the next candidate is tried. No lock is taken, so no
   * user holding one from psql can stall the farm's logins; the attempts are bounded.
   */
  reserve(r: Reservation): Promise<Reserved> {
    return this.#run('reserve a session', () =>
      this.#session.transaction(async (tx) => {
        // The quota alone: the reservation's rows follow, each in a savepoint of its own.
        await this.#withinQuota(tx, r.quota, () => Promise.resolve());
        const [node] = await tx`select state from nodes where server = ${r.server}`;
        if (node?.state === 'draining') throw drainingRefusal(r.server, r.uname);
        await this.#checkLimit(tx, r.limit, r.quota !== undefined);
        let retries = 0;
        const attempt = async (insert: (sp: Tx) => Promise<unknown>, constraints: string[]): Promise<boolean> => {
          try {
            await tx.savepoint(insert);
            return true;
          } catch (err) {
            const e = err as { code?: unknown; constraint_name?: unknown };
            if (e.code !== SQLSTATE.uniqueViolation || !constraints.includes(String(e.constraint_name))) throw err;
            if (++retries > MAX_RESERVATION_RETRIES) {
              throw new SessionDbError('conflict', `no free display or port after ${retries} attempts; try again`);
            }
            return false;
          }
        };

        const displays = new Set(
          (await tx`select display from servers_view ${this.#onServer(r.server)}`.values()).map((v) => v[0] as number),
        );
        let chosen: { display: number; sessionId: string } | undefined;
        for (const display of freeNumbers(r.displayStart, r.displayEnd, displays, r.busyDisplays)) {
          const sessionId = r.sessionId(display);
          const inserted = await attempt(
            // The row and its event in one statement.
            (sp) =>
              sp`with created as (insert into sessions (display, server, uname, session_id)
                  values (${display}, ${r.server}, ${r.uname}, ${sessionId}) returning session_id, uname, server)
                insert into session_events (${this.#eventColumns()})
                select session_id, uname, server, ${eventValues(sp, 'created', r.by)} from created`,
            // The id names the display, so a starter that took it in the same second holds the id too.
            ['sessions_display_key', 'sessions_server_display_key', 'sessions_pkey'],
          );
          if (inserted) {
            chosen = { display, sessionId };
            break;
          }
        }
        if (!chosen) throw new SessionDbError('conflict', `no free display between ${r.displayStart} and ${r.displayEnd}`);

        const held = new Set((await tx`select port from ports_view ${this.#onServer(r.server)}`.values()).map((v) => v[0] as number));
        const ports: number[] = [];
        for (const port of freeNumbers(r.portStart, MAX_PORT, held, r.busyPorts)) {
          const sessionId = chosen.sessionId;
          if (
            await attempt(
              (sp) => sp`insert into used_ports (server, session_id, port) values (${r.server}, ${sessionId}, ${port})`,
              ['used_ports_pkey'],
            )
          ) {
            ports.push(port);
            if (ports.length === r.portCount) break;
          }
        }
        if (ports.length < r.portCount) throw new SessionDbError('conflict', `no free port between ${r.portStart} and ${MAX_PORT}`);
        return { sessionId: chosen.sessionId, display: chosen.display, ports, retries };
      }),
    );
  }

  /** Inside a transaction: the session must exist and be visible to the caller (row-level security). */
  async #assertSessionExists(tx: Tx, sessionId: string): Promise<void> {
    // Sent now, not when awaited (a microtask later): statements sent after it must follow it.
    const [found] = await tx`select 1 from sessions where session_id = ${sessionId}`.execute();
    if (!found) throw new SessionDbError('not-found', `no session ${sessionId} in the session database`);
  }

  /**
   * A row of a session's (a port, a mount), in a transaction with the check that the caller sees
   * the session, and under the quota if one is given: all sent together (#withinQuota).
   */
  #insertIntoSession(sessionId: string, insert: (tx: Tx) => Promise<unknown>, quota?: QuotaGuard): Promise<void> {
    return this.#session.transaction((tx) => this.#withinQuota(tx, quota, () => insert(tx), this.#assertSessionExists(tx, sessionId)));
  }

  insertPort(server: string, sessionId: string, port: number, quota?: QuotaGuard): Promise<void> {
    return this.#run(
      'reserve port',
      () =>
        this.#insertIntoSession(
          sessionId,
          (tx) => tx`insert into used_ports (server, session_id, port) values (${server}, ${sessionId}, ${port})`.execute(),
          quota,
        ),
      { used_ports_pkey: `port ${port} is already in use` },
    );
  }

  deletePort(server: string, sessionId: string, port: number): Promise<void> {
    return this.#run('release port', async () => {
      await this.#session.last(this.#sql`delete from used_ports where server = ${server} and session_id = ${sessionId} and port = ${port}`);
    });
  }

  mounts(sessionId: string): Promise<Mount[]> {
    return this.#run('list mounts', async () =>
      (await this.#sql`select client, path from mounts where session_id = ${sessionId}`.values()).map((r) => ({
        client: r[0] as string,
        path: r[1] as string,
      })),
    );
  }

  async insertMount(sessionId: string, path: string, client: string): Promise<void> {
    await this.#run(
      'record mount',
      () =>
        this.#insertIntoSession(sessionId, (tx) =>
          tx`insert into mounts (session_id, path, client) values (${sessionId}, ${path}, ${client})`.execute(),
        ),
      { mounts_pkey: 'already mounted' },
    );
  }

  deleteMount(sessionId: string, path: string): Promise<void> {
    return this.#run('remove mount', async () => {
      await this.#session.last(this.#sql`delete from mounts where session_id = ${sessionId} and path = ${path}`);
    });
  }

  deleteMounts(sessionId: string): Promise<void> {
    return this.#run('remove mounts', async () => {
      await this.#session.last(this.#sql`delete from mounts where session_id = ${sessionId}`);
    });
  }

  events(filter: EventFilter): Promise<SessionEvent[]> {
    return this.#run('read the history', () => readEvents(this.#sql, filter));
  }

  pruneEvents(before: Date): Promise<number> {
    return this.#run('prune the history', () => pruneEvents(this.#sql, before));
  }

  schemaVersion(): Promise<number> {
    return this.#run('read the schema version', async () => {
      const [row] = await this.#sql`select coalesce(max(version), 0) as v from x2go_schema_migrations`;
      return Number(row?.v ?? 0);
    });
  }

  close(): Promise<void> {
    return this.#session.close();
  }
}
