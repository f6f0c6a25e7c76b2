// x2go-sessiondb doctor on PostgreSQL: the farm's facts the checks judge (src/doctor/), and the
// repairs, each in one transaction with its 'fixed' event. Connects as [postgres] dbadmin, as
// x2godbadmin does. The set-up judged here: the resident service's role must be a member of
// root's role and of every user's role (else it cannot act for them: SET ROLE fails), and the
// password files must be root's alone.

import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Settings } from '../../model/backend.js';
import type { DatabaseFacts, DoctorBackend, FactSession, Finding, Repair, Repairer } from '../../model/doctor.js';
import { sessionIdUser } from '../../model/ownership.js';
import { chmodNoFollow } from '../../system/chmod-nofollow.js';
import { dbadminLogin } from './admin.js';
import { connect, describeTarget, type ConnectionSql } from './connection.js';
import { passwordsDir } from './credentials.js';
import { mapPgError } from './errors.js';
import { ADMIN_ROLE, quoteIdent, SERVICE_ROLE, USER_ROLE_PREFIX } from './identifiers.js';
import { SCHEMA_VERSION, schemaVersion } from './migrate.js';
import type { PostgresSettings } from './settings.js';

function passwordFileFindings(dir: string): Finding[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const findings: Finding[] = [];
  for (const name of names.sort()) {
    const file = join(dir, name);
    const st = lstatSync(file);
    if (st.isSymbolicLink()) findings.push({ subject: file, detail: 'is a symbolic link; a password file must be a file of root' });
    else if (st.isFile() && (st.mode & 0o077) !== 0) {
      findings.push({
        subject: file,
        detail: `mode ${(st.mode & 0o777).toString(8)}: a database password others can read (want 600)`,
        repair: { kind: 'setup', action: 'chmod-600', target: file },
      });
    }
  }
  return findings;
}

async function membershipFindings(sql: ConnectionSql): Promise<Finding[]> {
  const [service] = await sql`select 1 from pg_roles where rolname = ${SERVICE_ROLE}`;
  if (!service) {
    return [{ subject: SERVICE_ROLE, detail: 'role missing: the resident service cannot connect; run x2godbadmin --updatedb' }];
  }
  const missing = await sql<{ role: string }[]>`
    select r.rolname as role from pg_roles r
    where (r.rolname = ${ADMIN_ROLE} or starts_with(r.rolname, ${USER_ROLE_PREFIX}))
      and not pg_has_role(${SERVICE_ROLE}, r.oid, 'member')
    order by r.rolname`;
  return missing.map(({ role }) => ({
    subject: role,
    detail: `${SERVICE_ROLE} is not a member: the service cannot act as this role`,
    repair: { kind: 'setup', action: 'grant-to-service', target: role },
  }));
}

export class PostgresDoctor implements DoctorBackend {
  readonly #settings: Settings<PostgresSettings>;

  constructor(settings: Settings<PostgresSettings>) {
    this.#settings = settings;
  }

  async #with<T>(action: string, work: (sql: ConnectionSql) => Promise<T>): Promise<T> {
    const connection = connect(this.#settings.backend, dbadminLogin(this.#settings));
    try {
      return await connection.guard(() => work(connection.sql));
    } catch (err) {
      throw mapPgError(err, action, describeTarget(this.#settings.backend));
    } finally {
      await connection.close();
    }
  }

  inspect(): Promise<DatabaseFacts> {
    return this.#with('inspect the database', async (sql) => {
      const version = await schemaVersion(sql);
      const sessions = (
        await sql`select session_id, uname, server, display, status, agent_pid,
                    extract(epoch from localtimestamp - last_time)::integer as age
                  from sessions order by session_id`
      ).map(
        (r): FactSession => ({
          sessionId: r.session_id,
          uname: r.uname,
          server: r.server,
          display: Number(r.display),
          status: r.status,
          agentPid: r.agent_pid === null ? null : Number(r.agent_pid),
          lastChangeAge: Number(r.age),
        }),
      );
      const orphanPorts = (
        await sql`select server, port, session_id from used_ports p
                  where not exists (select 1 from sessions s where s.session_id = p.session_id) order by port`
      ).map((r) => ({ server: r.server as string, port: Number(r.port), sessionId: r.session_id as string | null }));
      const orphanMounts = (
        await sql`select session_id, path, host(client) as client from mounts m
                  where not exists (select 1 from sessions s where s.session_id = m.session_id) order by path`
      ).map((r) => ({ sessionId: r.session_id as string | null, path: r.path as string, client: r.client as string }));
      const nodes = (await sql`select server, state, extract(epoch from now() - last_seen)::integer as age from nodes order by server`).map(
        (r) => ({
          server: r.server as string,
          lastSeenAge: Number(r.age),
          state: r.state === 'draining' ? ('draining' as const) : ('active' as const),
        }),
      );
      const setup = [...(await membershipFindings(sql)), ...passwordFileFindings(passwordsDir(this.#settings.configDir))];
      return { sessions, orphanPorts, orphanMounts, nodes, schema: { version, latest: SCHEMA_VERSION }, setup };
    });
  }

  repair(repair: Repair, by: Repairer): Promise<string> {
    if (repair.kind === 'update-schema') return Promise.reject(new Error('update-schema is x2godbadmin --updatedb'));
    if (repair.kind === 'setup' && repair.action === 'chmod-600') {
      chmodNoFollow(repair.target, 'file', () => 0o600);
      return Promise.resolve(`${repair.target}: mode 600`);
    }
    return this.#with('repair the database', (sql) =>
      sql.begin(async (tx) => {
        const event = (sessionId: string, uname: string, server: string, detail: string) =>
          tx`insert into session_events (session_id, uname, server, event, by_uid, node, detail)
             values (${sessionId}, ${uname}, ${server}, 'fixed', ${by.uid}, ${by.node}, ${detail})`;
        switch (repair.kind) {
          case 'setup':
            // The role name comes from pg_roles (inspect), and is quoted by the one function.
            await tx.unsafe(`GRANT ${quoteIdent(repair.target)} TO ${quoteIdent(SERVICE_ROLE)}`);
            return `${SERVICE_ROLE}: now a member of ${repair.target}`;
          case 'end-session':
          case 'purge-finished': {
            const [row] = await tx`select uname, server, status from sessions where session_id = ${repair.sessionId} for update`;
            if (!row) return `${repair.sessionId}: already gone`;
            const why = repair.kind === 'end-session' ? repair.why : 'finished long ago';
            await event(repair.sessionId, row.uname, row.server, `${row.status} -> purged: ${why}`);
            await tx`delete from mounts where session_id = ${repair.sessionId}`;
            await tx`delete from used_ports where session_id = ${repair.sessionId}`;
            await tx`delete from sessions where session_id = ${repair.sessionId}`;
            return `${repair.sessionId}: ${repair.kind === 'end-session' ? 'marked F and purged' : 'purged'} (${why})`;
          }
          case 'delete-port': {
            const [row] = await tx`delete from used_ports where port = ${repair.port} and server = ${repair.server} returning session_id`;
            if (!row) return `port ${repair.port}: already gone`;
            const sid = (row.session_id as string | null) ?? '';
            await event(sid, sessionIdUser(sid) ?? '', repair.server, `port ${repair.port} without a session removed`);
            return `port ${repair.port} on ${repair.server}: removed (its session ${sid || '(none)'} is gone)`;
          }
          case 'delete-mount': {
            await tx`delete from mounts where path = ${repair.path} and host(client) = ${repair.client}`;
            const sid = repair.sessionId ?? '';
            await event(sid, sessionIdUser(sid) ?? '', '', `mount ${repair.path} without a session removed`);
            return `mount ${repair.client}:${repair.path}: removed (its session ${sid || '(none)'} is gone)`;
          }
        }
      }),
    ) as Promise<string>;
  }
}
