// x2go-sessiondb doctor on the SQLite file: the facts the checks judge (src/doctor/), and the
// repairs, each in one write transaction with its 'fixed' event. The file's own set-up is
// judged here too: readable or writable by others, it is the session database of anyone.

import { lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseFacts, DoctorBackend, FactSession, Finding, Repair, Repairer } from '../../model/doctor.js';
import { SessionDbError } from '../../model/errors.js';
import { sessionIdUser } from '../../model/ownership.js';
import { openDatabase, writeTransaction, type Database } from './connection.js';
import { mapSqliteError } from './errors.js';
import { SCHEMA_VERSION, schemaVersion } from './migrate.js';
import { chmodNoFollow } from '../../system/chmod-nofollow.js';

const COMPANION_SUFFIXES = ['-wal', '-shm', '-journal'];

/** Modes of the file and its directory (not following links: a link there is a finding of its own). */
function setupFindings(path: string): Finding[] {
  const findings: Finding[] = [];
  for (const file of [path, ...COMPANION_SUFFIXES.map((s) => path + s)]) {
    const st = lstatSync(file, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (!st.isFile()) {
      findings.push({ subject: file, detail: 'is not a regular file (a planted link?); remove it and check the directory' });
    } else if ((st.mode & 0o007) !== 0) {
      findings.push({
        subject: file,
        detail: `mode ${(st.mode & 0o777).toString(8)}: other users can reach the session database (want 660)`,
        repair: { kind: 'setup', action: 'chmod-660', target: file },
      });
    }
  }
  const dir = dirname(path);
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (st?.isDirectory() && (st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0) {
    findings.push({
      subject: dir,
      detail: `mode ${(st.mode & 0o777).toString(8)}: anyone may replace the database file here (want 770)`,
      repair: { kind: 'setup', action: 'chmod-o-w', target: dir },
    });
  }
  return findings;
}

export class SqliteDoctor implements DoctorBackend {
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  #open<T>(action: string, work: (db: Database) => T): Promise<T> {
    let db: Database | undefined;
    try {
      db = openDatabase(this.#path);
      return Promise.resolve(work(db));
    } catch (err) {
      return Promise.reject(err instanceof SessionDbError ? err : mapSqliteError(err, action));
    } finally {
      db?.close();
    }
  }

  inspect(): Promise<DatabaseFacts> {
    return this.#open('inspect the database', (db) => {
      const version = schemaVersion(db);
      const sessions = db
        .prepare(
          `select session_id as sessionId, uname, server, display, status, agent_pid as agentPid,
             strftime('%s', 'now', 'localtime') - strftime('%s', last_time) as lastChangeAge
           from sessions order by session_id`,
        )
        .all() as FactSession[];
      const orphanPorts = db
        .prepare(
          `select server, port, session_id as sessionId from used_ports p
           where not exists (select 1 from sessions s where s.session_id = p.session_id) order by port`,
        )
        .all() as DatabaseFacts['orphanPorts'];
      const orphanMounts = db
        .prepare(
          `select session_id as sessionId, path, client from mounts m
           where not exists (select 1 from sessions s where s.session_id = m.session_id) order by path`,
        )
        .all() as DatabaseFacts['orphanMounts'];
      // The one node is the host itself, never down; its row (if any) says whether it is draining.
      const nodes = (db.prepare('select server, state from nodes order by server').all() as { server: string; state: string }[]).map(
        (r) => ({ server: r.server, lastSeenAge: 0, state: r.state === 'draining' ? ('draining' as const) : ('active' as const) }),
      );
      return {
        sessions,
        orphanPorts,
        orphanMounts,
        nodes,
        schema: { version, latest: SCHEMA_VERSION },
        setup: setupFindings(this.#path),
      };
    });
  }

  repair(repair: Repair, by: Repairer): Promise<string> {
    if (repair.kind === 'setup') {
      const directory = repair.action === 'chmod-o-w';
      try {
        chmodNoFollow(repair.target, directory ? 'directory' : 'file', directory ? (m) => m & ~0o002 : () => 0o660);
      } catch (err) {
        // SQLite removes its -wal and -shm when the last connection closes.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Promise.resolve(`${repair.target}: gone since (SQLite removed it)`);
        throw err;
      }
      return Promise.resolve(`${repair.target}: ${directory ? 'no longer writable by others' : 'mode 660'}`);
    }
    if (repair.kind === 'update-schema') return Promise.reject(new Error('update-schema is x2godbadmin --updatedb'));
    return this.#open('repair the database', (db) =>
      writeTransaction(db, () => {
        const event = db.prepare(
          `insert into session_events (session_id, uname, server, event, client, by_uid, node, detail)
           values (?, ?, ?, 'fixed', null, ?, ?, ?)`,
        );
        switch (repair.kind) {
          case 'end-session':
          case 'purge-finished': {
            const row = db.prepare('select uname, server, status from sessions where session_id = ?').get(repair.sessionId) as
              | { uname: string; server: string; status: string }
              | undefined;
            if (row === undefined) return `${repair.sessionId}: already gone`;
            const why = repair.kind === 'end-session' ? repair.why : 'finished long ago';
            event.run(repair.sessionId, row.uname, row.server, by.uid, by.node, `${row.status} -> purged: ${why}`);
            db.prepare('delete from mounts where session_id = ?').run(repair.sessionId);
            db.prepare('delete from used_ports where session_id = ?').run(repair.sessionId);
            db.prepare('delete from sessions where session_id = ?').run(repair.sessionId);
            return `${repair.sessionId}: ${repair.kind === 'end-session' ? 'marked F and purged' : 'purged'} (${why})`;
          }
          case 'delete-port': {
            const row = db.prepare('select session_id as sid from used_ports where port = ?').get(repair.port) as
              | { sid: string | null }
              | undefined;
            if (row === undefined) return `port ${repair.port}: already gone`;
            event.run(
              row.sid ?? '',
              sessionIdUser(row.sid ?? '') ?? '',
              repair.server,
              by.uid,
              by.node,
              `port ${repair.port} without a session removed`,
            );
            db.prepare('delete from used_ports where port = ? and server = ?').run(repair.port, repair.server);
            return `port ${repair.port} on ${repair.server}: removed (its session ${row.sid ?? '(none)'} is gone)`;
          }
          case 'delete-mount': {
            event.run(
              repair.sessionId ?? '',
              sessionIdUser(repair.sessionId ?? '') ?? '',
              '',
              by.uid,
              by.node,
              `mount ${repair.path} without a session removed`,
            );
            db.prepare('delete from mounts where path = ? and client = ?').run(repair.path, repair.client);
            return `mount ${repair.client}:${repair.path}: removed (its session ${repair.sessionId ?? '(none)'} is gone)`;
          }
        }
      }),
    );
  }
}
