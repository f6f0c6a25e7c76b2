// A session database moved in from another backend (x2godbadmin --migrate-from-sqlite), as
// dbadmin, in the caller's one transaction: sessions, ports, mounts and history, each row
// owned (creator_id) by the role whose helpers would have written it, then checked against the
// dump before the caller commits. Sessions already there (a second run, or rows the service has
// changed since on this database) are left as they are, with their ports and mounts: running
// it again changes nothing. Tables are locked against writers for the copy and the check.

import { SessionDbError } from '../../model/errors.js';
import { creatorOf, type SessionDump, type TransferSession } from '../../model/transfer.js';
import type { Sql } from './connection.js';
import { ADMIN_ROLE, userRole } from './identifiers.js';

export interface ImportCounts {
  lines: string[];
}

/** The sessions of the target that the dump does not have. */
export async function otherSessions(sql: Sql, dump: SessionDump): Promise<number> {
  const ids = dump.sessions.map((s) => s.sessionId);
  const [row] =
    await sql`select count(*)::int as n from sessions where session_id not in (select jsonb_array_elements_text(${ids}::jsonb))`;
  return Number(row?.n ?? 0);
}

/** A session's fields as both sides give them, for comparison (times to the second). */
function comparable(s: TransferSession): string {
  return JSON.stringify([
    s.sessionId,
    s.display,
    s.uname,
    s.server,
    s.client,
    s.status,
    Math.floor(s.initTime / 1000),
    Math.floor(s.lastTime / 1000),
    s.cookie,
    s.agentPid,
    s.grPort,
    s.soundPort,
    s.fsPort,
    s.tekictrlPort,
    s.tekidataPort,
  ]);
}

function rowToSession(r: Record<string, unknown>): TransferSession {
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    sessionId: String(r.session_id),
    display: Number(r.display),
    uname: String(r.uname),
    server: String(r.server),
    client: r.client === null ? null : String(r.client),
    status: String(r.status).trim(),
    initTime: Number(r.init_ms),
    lastTime: Number(r.last_ms),
    cookie: r.cookie === null ? null : String(r.cookie).trimEnd(),
    agentPid: n(r.agent_pid),
    grPort: n(r.gr_port),
    soundPort: n(r.sound_port),
    fsPort: n(r.fs_port),
    tekictrlPort: n(r.tekictrl_port),
    tekidataPort: n(r.tekidata_port),
  };
}

async function storedSessions(sql: Sql, ids: string[]): Promise<Map<string, TransferSession>> {
  const rows = await sql`select session_id, display, uname, server, client, status, cookie, agent_pid, gr_port, sound_port,
      fs_port, tekictrl_port, tekidata_port,
      extract(epoch from init_time::timestamptz) * 1000 as init_ms, extract(epoch from last_time::timestamptz) * 1000 as last_ms
    from sessions where session_id in (select jsonb_array_elements_text(${ids}::jsonb))`;
  return new Map(rows.map((r) => [String(r.session_id), rowToSession(r)]));
}

const key = (...parts: unknown[]) => JSON.stringify(parts);

/** Copies what the target lacks and checks everything; throws (the caller rolls back) on a mismatch. */
export async function importDump(tx: Sql, dump: SessionDump, database: string): Promise<string[]> {
  const hasEvents = (await tx`select to_regclass('session_events') is not null as present`)[0]?.present === true;
  await tx.unsafe(`LOCK TABLE sessions, used_ports, mounts${hasEvents ? ', session_events' : ''} IN EXCLUSIVE MODE`);
  const ids = dump.sessions.map((s) => s.sessionId);
  const before = await storedSessions(tx, ids);
  const creatorRole = (sessionId: string, uname: string) => userRole(creatorOf(sessionId, uname));

  const copied = new Set<string>();
  for (const s of dump.sessions) {
    if (before.has(s.sessionId)) continue;
    // A clash with another session of the target (its display) inserts nothing: the check
    // below then names it.
    const inserted = await tx`insert into sessions (session_id, display, uname, server, client, status, init_time, last_time,
        cookie, agent_pid, gr_port, sound_port, fs_port, tekictrl_port, tekidata_port, creator_id)
      values (${s.sessionId}, ${s.display}, ${s.uname}, ${s.server}, ${s.client}, ${s.status},
        to_timestamp(${s.initTime}::float8 / 1000)::timestamp, to_timestamp(${s.lastTime}::float8 / 1000)::timestamp,
        ${s.cookie}, ${s.agentPid}, ${s.grPort}, ${s.soundPort}, ${s.fsPort}, ${s.tekictrlPort}, ${s.tekidataPort},
        ${creatorRole(s.sessionId, s.uname)})
      on conflict do nothing returning session_id`;
    if (inserted.length) copied.add(s.sessionId);
  }
  const unames = new Map(dump.sessions.map((s) => [s.sessionId, s.uname]));
  const role = (sessionId: string) => creatorRole(sessionId, unames.get(sessionId) ?? '');
  // Ports and mounts only of the sessions copied now: those of sessions already there are what
  // the target says (ended sessions' ports removed since must not come back).
  const ports = dump.ports.filter((p) => copied.has(p.sessionId));
  for (const p of ports) {
    await tx`insert into used_ports (server, session_id, port, creator_id) values (${p.server}, ${p.sessionId}, ${p.port}, ${role(p.sessionId)})
      on conflict do nothing`;
  }
  const mounts = dump.mounts.filter((m) => copied.has(m.sessionId));
  for (const m of mounts) {
    await tx`insert into mounts (session_id, path, client, creator_id) values (${m.sessionId}, ${m.path}, ${m.client}, ${role(m.sessionId)})
      on conflict do nothing`;
  }
  let eventsCopied = 0;
  if (dump.events?.length && !hasEvents) {
    throw new SessionDbError('unavailable', `${database} has no session_events table for the history; run x2godbadmin --updatedb first`);
  }
  for (const e of dump.events ?? []) {
    const creator = e.byUid === 0 ? ADMIN_ROLE : creatorRole(e.sessionId, e.uname);
    const r = await tx`insert into session_events (at, session_id, uname, server, event, client, by_uid, node, detail, creator_id)
      select to_timestamp(${e.at}::float8 / 1000), ${e.sessionId}, ${e.uname}, ${e.server}, ${e.event}, ${e.client},
        ${e.byUid}::int, ${e.node}, ${e.detail}, ${creator}
      where not exists (select 1 from session_events where session_id = ${e.sessionId} and event = ${e.event}
        and at = to_timestamp(${e.at}::float8 / 1000))
      returning id`;
    eventsCopied += r.length;
  }

  // The check, before the caller commits: every session of the dump is there; the copied ones
  // field by field, with exactly their ports and mounts.
  const after = await storedSessions(tx, ids);
  const missing = dump.sessions.filter((s) => !after.has(s.sessionId));
  if (missing.length) {
    const s = missing[0] as TransferSession;
    throw new SessionDbError(
      'conflict',
      `${s.sessionId} could not be copied: display ${s.display} is held by another session of ${database}${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}; nothing was copied`,
    );
  }
  const expected = new Map(dump.sessions.map((s) => [s.sessionId, s]));
  let changedSince = 0;
  for (const [id, stored] of after) {
    const same = comparable(stored) === comparable(expected.get(id) as TransferSession);
    if (copied.has(id) && !same) throw new SessionDbError('failed', `${id}: the copy differs from ${dump.source}; nothing was copied`);
    if (!copied.has(id) && !same) changedSince++;
  }
  const copiedIds = [...copied];
  const storedPorts = new Set(
    (
      await tx`select server, session_id, port from used_ports where session_id in (select jsonb_array_elements_text(${copiedIds}::jsonb))`
    ).map((r) => key(String(r.server), String(r.session_id), Number(r.port))),
  );
  const lostPort = ports.find((p) => !storedPorts.has(key(p.server, p.sessionId, p.port)));
  if (lostPort || storedPorts.size !== ports.length) {
    throw new SessionDbError(
      'conflict',
      `port ${lostPort?.port ?? '?'} of ${lostPort?.sessionId ?? 'a copied session'} is held by another session of ${database}; nothing was copied`,
    );
  }
  const storedMounts = new Set(
    (
      await tx`select session_id, path, host(client) as client from mounts where session_id in (select jsonb_array_elements_text(${copiedIds}::jsonb))`
    ).map((r) => key(String(r.session_id), String(r.path))),
  );
  const lostMount = mounts.find((m) => !storedMounts.has(key(m.sessionId, m.path)));
  if (lostMount || storedMounts.size !== mounts.length) {
    throw new SessionDbError(
      'conflict',
      `mount ${lostMount?.path ?? '?'} of ${lostMount?.sessionId ?? 'a copied session'} is recorded for another session of ${database}; nothing was copied`,
    );
  }
  const present = dump.sessions.length - copied.size;
  return [
    `sessions: ${copied.size} copied, ${present} already in ${database}${changedSince ? ` (${changedSince} changed there since; kept as they are)` : ''}`,
    `ports: ${ports.length} copied (${dump.ports.length - ports.length} belong to sessions already there)`,
    `mounts: ${mounts.length} copied (${dump.mounts.length - mounts.length} belong to sessions already there)`,
    dump.events === undefined
      ? `history: none in ${dump.source} (no session_events table)`
      : `history: ${eventsCopied} event(s) copied, ${dump.events.length - eventsCopied} already there`,
    `checked: all ${dump.sessions.length} session(s) of ${dump.source} are in ${database}; the copied ones match field by field, with their ports and mounts`,
  ];
}
