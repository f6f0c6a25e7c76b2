// A real PostgreSQL server for the suites that need one (Debian's postgresql, started by
// .ci/run or here), and per-suite databases configured like an X2Go server's.
//
// Roles are cluster-wide (x2godbuser, x2gouser_alice ...), so the suites that use them run one
// after another (the test runner runs files one at a time).

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { lookupUser } from '../../src/system/accounts.js';
import { createSandbox, type Sandbox } from './sandbox.js';
import { serviceUser } from './service.js';

/** The password the suites give the cluster's superuser (the reference reads it from passwords/pgadmin). */
export const PG_ADMIN_PASSWORD = 'x2godb-test-superuser';
export const hasPostgres = existsSync('/usr/bin/pg_lsclusters');

function cluster(): { version: string; name: string; port: number; online: boolean } | undefined {
  const out = execFileSync('/usr/bin/pg_lsclusters', ['--no-header'], { encoding: 'utf8' }).trim().split('\n')[0];
  if (!out) return undefined;
  const [version = '', name = '', port = '5432', status = ''] = out.split(/\s+/);
  return { version, name, port: Number(port), online: status === 'online' };
}

let ready = false;

/** Starts the cluster if it is down and gives postgres a password (as root, via peer auth). */
export function ensurePostgres(): void {
  if (ready) return;
  const c = cluster();
  if (!c) throw new Error('no PostgreSQL cluster (apt-get install postgresql)');
  if (!c.online) execFileSync('/usr/bin/pg_ctlcluster', [c.version, c.name, 'start']);
  const r = spawnSync(
    '/usr/sbin/runuser',
    ['-u', 'postgres', '--', 'psql', '-qAtc', `ALTER ROLE postgres PASSWORD '${PG_ADMIN_PASSWORD}'`],
    {
      encoding: 'utf8',
      cwd: '/',
    },
  );
  if (r.status !== 0) throw new Error(`cannot set the postgres password: ${r.stderr}`);
  ready = true;
}

/** The service role's password in the suites: one for all, as on a farm where it is copied. */
export const SERVICE_PASSWORD = 'x2godb-test-sessiond';

/**
 * What an administrator does on each server of a farm: put the service role's password file in
 * place (here: give the cluster-wide role the suites' password, and write it into configDir).
 */
export function shareServiceLogin(configDir: string): void {
  const r = spawnSync(
    '/usr/sbin/runuser',
    ['-u', 'postgres', '--', 'psql', '-qAtc', `ALTER ROLE x2gosessiond PASSWORD '${SERVICE_PASSWORD}'`],
    {
      encoding: 'utf8',
      cwd: '/',
    },
  );
  if (r.status !== 0) throw new Error(`cannot set the x2gosessiond password (run x2godbadmin --createdb first): ${r.stderr}`);
  // The service's own file, as x2godbadmin writes it: its account's, mode 600.
  const file = join(configDir, 'x2gosql', 'x2gosessiond.password');
  writeFileSync(file, `${SERVICE_PASSWORD}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  chownSync(file, serviceUser().uid, 0);
}

export function superuser(database = 'postgres'): postgres.Sql {
  return postgres({
    host: 'localhost',
    port: 5432,
    database,
    username: 'postgres',
    password: PG_ADMIN_PASSWORD,
    max: 1,
    fetch_types: false,
    onnotice: () => {},
  });
}

/** `extra` goes into [postgres]; `topLevel` beside backend= (e.g. scope=). */
export function writePgConfig(configDir: string, database: string, extra = '', topLevel = ''): void {
  mkdirSync(join(configDir, 'x2gosql', 'passwords'), { recursive: true });
  chmodSync(join(configDir, 'x2gosql'), 0o755);
  writeFileSync(
    join(configDir, 'x2gosql', 'sql'),
    `backend=postgres\n${topLevel}\n[postgres]\nhost=localhost\nport=5432\ndbadmin=postgres\nssl=prefer\ndatabase=${database}\n${extra}`,
  );
  writeFileSync(join(configDir, 'x2gosql', 'passwords', 'pgadmin'), `${PG_ADMIN_PASSWORD}\n`, { mode: 0o600 });
  chmodSync(join(configDir, 'x2gosql', 'passwords', 'pgadmin'), 0o600);
}

export interface PgSandbox extends Sandbox {
  database: string;
  /** Drops the database (and the sandbox's files). */
  drop(): Promise<void>;
}

/** A sandbox whose configuration points at its own PostgreSQL database (not yet created). */
export function createPgSandbox(database: string, serverConf = '[telekinesis]\nenable=no\n'): PgSandbox {
  const box = createSandbox('x2godb-pg-');
  writePgConfig(box.configDir, database);
  writeFileSync(join(box.configDir, 'x2goserver.conf'), serverConf);
  return {
    ...box,
    database,
    dump: () => {
      throw new Error('use pgDump() for PostgreSQL');
    },
    drop: async () => {
      const sql = superuser();
      try {
        await sql.unsafe(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        await sql.end();
        box.remove();
      }
    },
  };
}

/** The password x2godbadmin --adduser stored for a user. */
export function userPassword(user: string): string {
  const home = lookupUser(user)?.home;
  if (!home) throw new Error(`no user ${user}`);
  return readFileSync(join(home, '.x2go', 'pgsqlpass'), 'utf8').trim();
}

/** Connects as a role with a password, to `database`. */
export function connectAs(role: string, password: string, database: string): postgres.Sql {
  return postgres({
    host: 'localhost',
    port: 5432,
    database,
    username: role,
    password,
    max: 1,
    fetch_types: false,
    onnotice: () => {},
  });
}

/** Every row of the session tables, sorted, times normalised: to show that nothing changed. */
export async function pgDump(database: string): Promise<string> {
  const sql = superuser(database);
  try {
    const parts: string[] = [];
    for (const table of ['sessions', 'used_ports', 'mounts']) {
      const rows = await sql.unsafe(`select * from ${table}`);
      parts.push(`-- ${table}`, ...rows.map((r) => JSON.stringify(r)).sort());
    }
    return parts.join('\n');
  } finally {
    await sql.end();
  }
}
