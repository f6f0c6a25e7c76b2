// The SQLite file as plain rows (model/transfer.ts), for x2godbadmin --migrate-from-sqlite: read
// in one read transaction (one snapshot, while helpers may still write), never written. Files
// of every age are read: the reference's (telekinesis columns added by 4.1, no history table)
// and ours (session_events from migration 0006 on).

import { SessionDbError } from '../../model/errors.js';
import type { SessionDump, TransferEvent, TransferSession } from '../../model/transfer.js';
import { exists, openDatabase } from './connection.js';
import { mapSqliteError } from './errors.js';

/** 'YYYY-MM-DD HH:MM:SS' in the host's local time, as datetime('now', 'localtime') writes it. */
function localTime(text: unknown, what: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(String(text));
  if (!m) throw new SessionDbError('failed', `${what}: '${String(text)}' is not a time`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  return new Date(y, mo - 1, d, h, mi, s, Math.round(Number(`0.${m[7] ?? '0'}`) * 1000)).getTime();
}

/** session_events' times: UTC text with milliseconds (migration 0006). */
function utcTime(text: unknown): number {
  return Date.parse(`${String(text).replace(' ', 'T')}Z`);
}

const int = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function exportSqlite(path: string): SessionDump {
  if (!exists(path)) throw new SessionDbError('config', `${path}: no such file (give the SQLite file to migrate from)`);
  try {
    const db = openDatabase(path, { readonly: true });
    try {
      const tables = new Set((db.prepare("select name from sqlite_master where type = 'table'").pluck().all() as string[]).map(String));
      if (!tables.has('sessions') || !tables.has('used_ports') || !tables.has('mounts')) {
        throw new SessionDbError('config', `${path} is not an X2Go session database (no sessions, used_ports or mounts table)`);
      }
      const columns = new Set((db.prepare("select name from pragma_table_info('sessions')").pluck().all() as string[]).map(String));
      const teki = (c: string) => (columns.has(c) ? c : `null as ${c}`);
      return db.transaction((): SessionDump => {
        const sessions = (
          db
            .prepare(
              `select session_id, display, uname, server, client, status, init_time, last_time, cookie, agent_pid,
                gr_port, sound_port, fs_port, ${teki('tekictrl_port')}, ${teki('tekidata_port')} from sessions order by session_id`,
            )
            .all() as Record<string, unknown>[]
        ).map(
          (r): TransferSession => ({
            sessionId: String(r.session_id),
            display: Number(r.display),
            uname: String(r.uname),
            server: String(r.server),
            client: str(r.client),
            status: String(r.status).trim(),
            initTime: localTime(r.init_time, `${String(r.session_id)} init_time`),
            lastTime: localTime(r.last_time, `${String(r.session_id)} last_time`),
            cookie: str(r.cookie)?.trimEnd() ?? null,
            agentPid: int(r.agent_pid),
            grPort: int(r.gr_port),
            soundPort: int(r.sound_port),
            fsPort: int(r.fs_port),
            tekictrlPort: int(r.tekictrl_port),
            tekidataPort: int(r.tekidata_port),
          }),
        );
        const ports = (db.prepare('select server, session_id, port from used_ports order by port').all() as Record<string, unknown>[]).map(
          (r) => ({ server: String(r.server), sessionId: String(r.session_id), port: Number(r.port) }),
        );
        const mounts = (
          db.prepare('select session_id, path, client from mounts order by session_id, path').all() as Record<string, unknown>[]
        ).map((r) => ({ sessionId: String(r.session_id), path: String(r.path), client: String(r.client) }));
        const events = tables.has('session_events')
          ? (
              db
                .prepare('select at, session_id, uname, server, event, client, by_uid, node, detail from session_events order by id')
                .all() as Record<string, unknown>[]
            ).map(
              (r): TransferEvent => ({
                at: utcTime(r.at),
                sessionId: String(r.session_id),
                uname: String(r.uname),
                server: String(r.server),
                event: String(r.event),
                client: str(r.client),
                byUid: int(r.by_uid),
                node: str(r.node),
                detail: str(r.detail),
              }),
            )
          : undefined;
        return { source: path, sessions, ports, mounts, events };
      })();
    } finally {
      db.close();
    }
  } catch (err) {
    throw mapSqliteError(err, `read ${path}`);
  }
}
