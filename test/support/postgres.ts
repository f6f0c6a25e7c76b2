// A real PostgreSQL server for the suites that need one: a cluster of their own, made with
// Debian's pg_createcluster on a free port and kept between runs (`pg_dropcluster --stop <version>
// x2godb-tests` removes it). Never the host's cluster: on a live X2Go farm that one holds the
// farm's x2go_sessions and its users' roles, which the suites would drop, and the service suite
// stops its cluster for 10 s.
//
// Roles are cluster-wide (x2godbuser, x2gouser_alice ...), so the suites that use them run one
// after another (the test runner runs files one at a time).

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { lookupUser } from '../../src/system/accounts.js';
import { createSandbox, type Sandbox } from './sandbox.js';
import { serviceUser } from './service.js';

/** The password the suites give the cluster's superuser (the reference reads it from passwords/pgadmin). */
export const PG_ADMIN_PASSWORD = 'x2godb-test-superuser';
export const hasPostgres = existsSync('/usr/bin/pg_lsclusters');
/** The suites' cluster's name; the failover suite's clusters have names of their own. */
export const TEST_CLUSTER = 'x2godb-tests';

export interface Cluster {
  version: string;
  name: string;
  port: number;
  online: boolean;
}

/** The suites' cluster as pg_lsclusters reports it, or undefined before it is made. */
export function testCluster(): Cluster | undefined {
  const out = execFileSync('/usr/bin/pg_lsclusters', ['--no-header'], { encoding: 'utf8' });
  for (const line of out.split('\n')) {
    const [version = '', name = '', port = '', status = ''] = line.trim().split(/\s+/);
    if (name === TEST_CLUSTER) return { version, name, port: Number(port), online: status === 'online' };
  }
  return undefined;
}

function newestVersion(): string {
  const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v));
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('no PostgreSQL server installed (apt-get install postgresql)');
  return newest;
}

/** A TCP port nobody listens on now, the kernel's choice (in a child: the suites' setup is synchronous). */
function freePort(): number {
  const script = "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})";
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
}

function makeCluster(): void {
  const version = newestVersion();
  execFileSync('/usr/bin/pg_createcluster', [version, TEST_CLUSTER, '--port', String(freePort())], { stdio: 'ignore', cwd: '/' });
}

function dropCluster(c: Cluster): void {
  execFileSync('/usr/bin/pg_dropcluster', ['--stop', c.version, c.name], { stdio: 'ignore' });
}

function psqlAsPostgres(port: number, statement: string): ReturnType<typeof spawnSync> {
  return spawnSync('/usr/sbin/runuser', ['-u', 'postgres', '--', 'psql', '-p', String(port), '-qAtc', statement], {
    encoding: 'utf8',
    cwd: '/',
  });
}

let ready: Cluster | undefined;

/**
 * Drops the suites' cluster and makes it again: what CI starts from, so that nothing an earlier
 * run left in it (a database, a role with grants in it) decides a result.
 */
export function recreateCluster(): void {
  const c = testCluster();
  if (c) dropCluster(c);
  ready = undefined;
  ensurePostgres();
}

/** Drops a database of the suites' cluster (synchronously: restore functions are). */
export function dropDatabase(name: string): void {
  const r = psqlAsPostgres(pgPort(), `DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`);
  if (r.status !== 0) throw new Error(`cannot drop database ${name}: ${String(r.stderr)}`);
}

/**
 * Makes the suites' cluster if there is none, starts it if it is down (made again, once, if its
 * port was taken meanwhile) and gives postgres a password (as root, via peer authentication).
 */
export function ensurePostgres(): void {
  if (ready) return;
  if (!testCluster()) makeCluster();
  let c = testCluster();
  if (c && !c.online && spawnSync('/usr/bin/pg_ctlcluster', [c.version, c.name, 'start'], { stdio: 'ignore' }).status !== 0) {
    dropCluster(c);
    makeCluster();
    c = testCluster();
    if (c) execFileSync('/usr/bin/pg_ctlcluster', [c.version, c.name, 'start']);
  }
  if (!c) throw new Error(`pg_createcluster made no cluster ${TEST_CLUSTER}`);
  const r = psqlAsPostgres(c.port, `ALTER ROLE postgres PASSWORD '${PG_ADMIN_PASSWORD}'`);
  if (r.status !== 0) throw new Error(`cannot set the postgres password: ${String(r.stderr)}`);
  ready = { ...c, online: true };
}

/** The port of the suites' cluster (made and started by ensurePostgres first). */
export function pgPort(): number {
  if (ready) return ready.port;
  const c = testCluster();
  if (!c) throw new Error(`no cluster ${TEST_CLUSTER}: call ensurePostgres() first`);
  return c.port;
}

/** The service role's password in the suites: one for all, as on a farm where it is copied. */
export const SERVICE_PASSWORD = 'x2godb-test-sessiond';

/**
 * What an administrator does on each server of a farm: put the service role's password file in
 * place (here: give the cluster-wide role the suites' password, and write it into configDir).
 */
export function shareServiceLogin(configDir: string): void {
  const r = psqlAsPostgres(pgPort(), `ALTER ROLE x2gosessiond PASSWORD '${SERVICE_PASSWORD}'`);
  if (r.status !== 0) throw new Error(`cannot set the x2gosessiond password (run x2godbadmin --createdb first): ${String(r.stderr)}`);
  // The service's own file, as x2godbadmin writes it: its account's, mode 600.
  const file = join(configDir, 'x2gosql', 'x2gosessiond.password');
  writeFileSync(file, `${SERVICE_PASSWORD}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  chownSync(file, serviceUser().uid, 0);
}

export function superuser(database = 'postgres'): postgres.Sql {
  return postgres({
    host: 'localhost',
    port: pgPort(),
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
    `backend=postgres\n${topLevel}\n[postgres]\nhost=localhost\nport=${pgPort()}\ndbadmin=postgres\nssl=prefer\ndatabase=${database}\n${extra}`,
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
    port: pgPort(),
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
