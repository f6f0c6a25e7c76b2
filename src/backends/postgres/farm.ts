// The farm on PostgreSQL (see model/farm.ts): nodes, sessions of every server, dead-node cleanup
// and admin requests. The service connects with its own login and acts as root's role
// (SET LOCAL ROLE x2godbuser in each transaction, as for a request of root's); root's CLI
// connects as x2godbuser. Loaded only by x2gosessiond and x2go-sessiondb's farm commands.

import type { Settings } from '../../model/backend.js';
import type {
  AdminAction,
  AdminRequest,
  Cleanup,
  FarmNode,
  FarmOpener,
  FarmStore,
  Heartbeat,
  NodeChange,
  SessionFilter,
} from '../../model/farm.js';
import { farmSessionOf } from '../../model/farm.js';
import { connect, connectPool, describeTarget, type Tx } from './connection.js';
import { callerLogin, liveServiceLogin } from './credentials.js';
import { mapPgError } from './errors.js';
import { recordSessionEvent } from './history.js';
import type { NewSessionEvent } from '../../model/history.js';
import { ADMIN_ROLE, quoteIdent } from './identifiers.js';
import type { PostgresSettings } from './settings.js';

/**
 * The advisory lock the dead-node cleanup runs under (pg_try_advisory_xact_lock): one live node
 * cleans at a time, the others skip the round. The key is arbitrary, fixed, and ours.
 */
const CLEANUP_LOCK = 0x7832_676f; // "x2go"

/** Session columns as the farm lists them; times as stored (local time), in text. */
const SESSION_COLUMNS = `session_id, uname, server, status, display, client, agent_pid,
  to_char(init_time, 'YYYY-MM-DD"T"HH24:MI:SS') as init_time, to_char(last_time, 'YYYY-MM-DD"T"HH24:MI:SS') as last_time`;

type Row = Record<string, unknown>;

function nodeOf(r: Row, timeoutS: number): FarmNode {
  const since = Number(r.since);
  const setState = r.state === 'draining' ? 'draining' : 'active';
  return {
    server: String(r.server),
    state: since > timeoutS ? 'down' : setState,
    setState,
    weight: Number(r.weight),
    capacity: r.capacity == null ? null : Number(r.capacity),
    load: (r.load as FarmNode['load']) ?? null,
    version: String(r.version),
    pid: r.pid == null ? null : Number(r.pid),
    startedAt: String(r.started_at),
    lastSeen: String(r.last_seen),
    secondsSinceSeen: since,
  };
}

function requestOf(r: Row): AdminRequest {
  return {
    id: Number(r.id),
    node: String(r.node),
    sessionId: String(r.session_id),
    action: r.action as AdminAction,
    requestedBy: Number(r.requested_by),
    state: r.state as AdminRequest['state'],
    outcome: r.outcome == null ? null : String(r.outcome),
  };
}

export async function openPostgresFarm(settings: Settings<PostgresSettings>, opener: FarmOpener): Promise<FarmStore> {
  const pg = settings.backend;
  const target = describeTarget(pg);
  // The service: two connections of its own login (a heartbeat must not wait for a request
  // being carried out), acting as root's role. Root's CLI: one connection as that role.
  // Root's one connection gives up on a silent server after the connect timeout (guard).
  const own = opener === 'root' ? connect(pg, callerLogin({ uid: 0, name: 'root' }, '/root', settings.configDir)) : undefined;
  const sql = own ? own.sql : connectPool(pg, liveServiceLogin(settings.configDir), 2);
  const guard = own ? own.guard : <T>(operation: () => Promise<T>) => operation();
  const setRole = own ? undefined : `SET LOCAL ROLE ${quoteIdent(ADMIN_ROLE)}`;

  const begin = async <T>(action: string, work: (tx: Tx) => Promise<T>): Promise<T> => {
    try {
      return (await guard(() =>
        sql.begin(async (tx) => {
          if (setRole) await tx.unsafe(setRole);
          return work(tx);
        }),
      )) as T;
    } catch (err) {
      throw mapPgError(err, action, target);
    }
  };

  return {
    recordEvent: (event: NewSessionEvent) => begin('record a session event', (tx) => recordSessionEvent(tx, event)),

    heartbeat: (beat: Heartbeat) =>
      begin('record the heartbeat', async (tx) => {
        const counts = await tx`select status, count(*)::int as n from sessions where server = ${beat.server} group by status`;
        const sessions = Object.fromEntries(counts.map((r) => [String(r.status), Number(r.n)]));
        const load = JSON.stringify({ sessions, ...beat.system });
        await tx`insert into nodes (server, version, pid, started_at, last_seen, load)
          values (${beat.server}, ${beat.version}, ${beat.pid}, ${beat.startedAt.toISOString()}, now(), (${load}::text)::jsonb)
          on conflict (server) do update set version = excluded.version, pid = excluded.pid,
            started_at = excluded.started_at, last_seen = now(), load = excluded.load`;
      }),

    nodes: (timeoutS: number) =>
      begin('list the nodes', async (tx) => {
        const rows = await tx`select server, version, pid, state, weight, capacity, load,
            to_char(started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as started_at,
            to_char(last_seen at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as last_seen,
            extract(epoch from now() - last_seen)::float8 as since
          from nodes order by server`;
        return rows.map((r) => nodeOf(r, timeoutS));
      }),

    setNode: (server: string, change: NodeChange) =>
      begin('change the node', async (tx) => {
        const [row] = await tx`select 1 from nodes where server = ${server} for update`;
        if (!row) return false;
        if (change.state !== undefined) await tx`update nodes set state = ${change.state} where server = ${server}`;
        if (change.weight !== undefined) await tx`update nodes set weight = ${change.weight} where server = ${server}`;
        if (change.capacity !== undefined) await tx`update nodes set capacity = ${change.capacity} where server = ${server}`;
        return true;
      }),

    sessions: (f: SessionFilter) =>
      begin('list the sessions', async (tx) => {
        const rows = await tx.unsafe(
          `select ${SESSION_COLUMNS} from sessions
           where ($1::text is null or uname = $1) and ($2::text is null or server = $2) and ($3::text is null or status = $3)
             and ($4::float8 is null or last_time < localtimestamp - make_interval(secs => $4::float8))
           order by server, uname, init_time, session_id`,
          [f.user ?? null, f.server ?? null, f.status ?? null, f.olderThanS ?? null],
        );
        return rows.map(farmSessionOf);
      }),

    cleanDownNodes: (self: string, timeoutS: number) =>
      begin('clean up after down nodes', async (tx): Promise<Cleanup | undefined> => {
        const [lock] = await tx`select pg_try_advisory_xact_lock(${CLEANUP_LOCK}) as got`;
        if (!lock?.got) return undefined;
        const down = await tx`select server from nodes
          where server <> ${self} and last_seen < now() - make_interval(secs => ${timeoutS}) order by server`;
        const closed: Cleanup['closed'] = [];
        for (const { server } of down) {
          const rows = await tx`select session_id, uname, server, status from sessions where server = ${server} for update`;
          if (rows.length === 0) continue;
          const ids = rows.map((r) => String(r.session_id));
          // Marked finished and purged, each with its event, all in this transaction.
          await tx`update sessions set status = 'F', last_time = localtimestamp where server = ${server}`;
          for (const r of rows) {
            await tx`insert into session_events (session_id, uname, server, event, by_uid, node, detail)
              values (${r.session_id}, ${r.uname}, ${r.server}, 'cleaned', 0, ${self},
                ${`node ${String(server)} down (not seen for ${timeoutS} s); was ${String(r.status)}`})`;
          }
          await tx`delete from mounts where session_id in (select session_id from sessions where server = ${server})`;
          await tx`delete from used_ports where server = ${server} or session_id in (select session_id from sessions where server = ${server})`;
          await tx`delete from sessions where server = ${server}`;
          closed.push({ server: String(server), sessions: ids });
        }
        return { closed };
      }),

    queueRequest: (node: string, sessionId: string, action: AdminAction, byUid: number) =>
      begin('queue the request', async (tx) => {
        const [row] = await tx`insert into admin_requests (node, session_id, action, requested_by)
          values (${node}, ${sessionId}, ${action}, ${byUid}) returning id`;
        return Number(row?.id);
      }),

    request: (id: number) =>
      begin('read the request', async (tx) => {
        const [row] = await tx`select * from admin_requests where id = ${id}`;
        return row ? requestOf(row) : undefined;
      }),

    takeRequests: async (node, carryOut) => {
      let done = 0;
      for (;;) {
        // One request per transaction: its row stays locked while it is carried out, so a
        // second wake-up of this node (or a second service by mistake) skips it.
        const handled = await begin('carry out a request', async (tx) => {
          const [row] = await tx`select * from admin_requests where node = ${node} and state = 'queued'
            order by id limit 1 for update skip locked`;
          if (!row) return false;
          const result = await carryOut(requestOf(row));
          await tx`update admin_requests set state = ${result.ok ? 'done' : 'failed'}, outcome = ${result.outcome}, done_at = now()
            where id = ${row.id}`;
          return true;
        });
        if (!handled) return done;
        done++;
      }
    },

    listenForRequests: async (node, wake) => {
      try {
        await sql.listen('x2go_admin_requests', (payload) => {
          if (payload === node) wake();
        });
      } catch (err) {
        throw mapPgError(err, 'listen for admin requests', target);
      }
    },

    close: () => sql.end({ timeout: 5 }),
  };
}
