// A PostgreSQL primary and a streaming standby on this machine, for the failover suite and
// benchmark: two clusters of their own (pg_createcluster, on free ports; never the main cluster
// the other suites share), the standby made by pg_basebackup, replication synchronous so that a
// commit is acknowledged only once the standby has it. The primary can be killed hard (SIGKILL
// of the postmaster and every backend, as a power cut) and the standby promoted; remove() drops
// both clusters whatever state they are in.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import postgres from 'postgres';
import { PG_ADMIN_PASSWORD } from './postgres.js';

export interface Node {
  name: string;
  port: number;
  dataDir: string;
}

export interface Replication {
  version: string;
  primary: Node;
  standby: Node;
  /** `host=` for [postgres] in x2gosql/sql: both, the primary first. */
  hosts: string;
  /** SIGKILL of the primary's postmaster and all its processes; resolves once its port is closed. */
  killPrimary(): Promise<void>;
  /** pg_promote() on the standby, waiting until it accepts writes. */
  promoteStandby(): Promise<void>;
  /** A superuser connection to `database` on one node. */
  superuser(node: Node, database?: string): postgres.Sql;
  /** Whether the standby has replayed everything the primary committed (sync state). */
  standbyState(): Promise<string>;
  remove(): void;
}

const PREFIX = 'x2godb-failover';

function sh(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
}

function asPostgres(args: string[]): string {
  return sh('/usr/sbin/runuser', ['-u', 'postgres', '--', ...args]);
}

/** A TCP port nobody listens on now (the kernel's choice). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function installedVersion(): string {
  const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v));
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('no PostgreSQL server installed (apt-get install postgresql)');
  return newest;
}

/** Drops clusters a killed earlier run left behind. */
function dropLeftovers(version: string): void {
  const listed = spawnSync('/usr/bin/pg_lsclusters', ['--no-header'], { encoding: 'utf8' }).stdout;
  for (const line of listed.split('\n')) {
    const [v, name] = line.trim().split(/\s+/);
    if (v === version && name?.startsWith(PREFIX)) spawnSync('/usr/bin/pg_dropcluster', ['--stop', v, name], { stdio: 'ignore' });
  }
}

function conf(version: string, node: Node, text: string): void {
  writeFileSync(join('/etc/postgresql', version, node.name, 'conf.d', 'x2godb-failover.conf'), text);
}

function postmasterPid(node: Node): number | undefined {
  const file = join(node.dataDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  return Number(readFileSync(file, 'utf8').split('\n')[0]);
}

function children(pid: number): number[] {
  const r = spawnSync('/usr/bin/pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

function superuserOf(node: Node, database = 'postgres'): postgres.Sql {
  return postgres({
    host: '127.0.0.1',
    port: node.port,
    database,
    username: 'postgres',
    password: PG_ADMIN_PASSWORD,
    max: 1,
    fetch_types: false,
    onnotice: () => {},
    connect_timeout: 5,
  });
}

async function portClosed(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Creates, starts and links the two clusters (as root). */
export async function createReplication(): Promise<Replication> {
  const version = installedVersion();
  dropLeftovers(version);
  const make = async (role: string): Promise<Node> => {
    const name = `${PREFIX}-${role}`;
    const port = await freePort();
    return { name, port, dataDir: join('/var/lib/postgresql', version, name) };
  };
  const primary = await make('primary');
  const standby = await make('standby');
  try {
    sh('/usr/bin/pg_createcluster', [version, primary.name, '--port', String(primary.port)]);
    // Synchronous: a commit returns once the standby has flushed it, so whatever the service
    // acknowledged survives the primary's death.
    conf(version, primary, "listen_addresses = '127.0.0.1'\nsynchronous_commit = on\nwal_level = replica\nmax_wal_senders = 4\n");
    sh('/usr/bin/pg_ctlcluster', [version, primary.name, 'start']);
    asPostgres(['psql', '-p', String(primary.port), '-qAtc', `ALTER ROLE postgres PASSWORD '${PG_ADMIN_PASSWORD}'`]);

    sh('/usr/bin/pg_createcluster', [version, standby.name, '--port', String(standby.port)]);
    conf(version, standby, "listen_addresses = '127.0.0.1'\nhot_standby = on\n");
    sh('/usr/bin/rm', ['-rf', standby.dataDir]);
    // -R writes standby.signal and primary_conninfo (peer authentication over the local socket).
    asPostgres([
      'pg_basebackup',
      '-h',
      '/var/run/postgresql',
      '-p',
      String(primary.port),
      '-D',
      standby.dataDir,
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
    ]);
    sh('/usr/bin/pg_ctlcluster', [version, standby.name, 'start']);
    // Only now: with no standby connected, a synchronous primary would wait for ever on every commit.
    asPostgres(['psql', '-p', String(primary.port), '-qAtc', "ALTER SYSTEM SET synchronous_standby_names = '*'"]);
    asPostgres(['psql', '-p', String(primary.port), '-qAtc', 'SELECT pg_reload_conf()']);
  } catch (err) {
    for (const node of [standby, primary]) spawnSync('/usr/bin/pg_dropcluster', ['--stop', version, node.name], { stdio: 'ignore' });
    throw err;
  }
  const replication: Replication = {
    version,
    primary,
    standby,
    hosts: `127.0.0.1:${primary.port},127.0.0.1:${standby.port}`,
    superuser: superuserOf,
    async standbyState() {
      const sql = superuserOf(primary);
      try {
        const rows = await sql`select sync_state from pg_stat_replication`;
        return rows.map((r) => String(r.sync_state)).join(',');
      } finally {
        await sql.end();
      }
    },
    async killPrimary() {
      const pid = postmasterPid(primary);
      if (pid === undefined) throw new Error(`${primary.name} is not running`);
      const all = [pid, ...children(pid)];
      for (const p of all) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      for (let waited = 0; !(await portClosed(primary.port)); waited += 10) {
        if (waited > 10_000) throw new Error(`${primary.name} still listens on ${primary.port}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async promoteStandby() {
      const sql = superuserOf(standby);
      try {
        await sql`select pg_promote(true, 30)`;
        for (let waited = 0; ; waited += 20) {
          const [row] = await sql`select pg_is_in_recovery() as recovering`;
          if (!row?.recovering) return;
          if (waited > 30_000) throw new Error(`${standby.name} did not leave recovery`);
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        await sql.end();
      }
    },
    remove() {
      for (const node of [standby, primary]) spawnSync('/usr/bin/pg_dropcluster', ['--stop', version, node.name], { stdio: 'ignore' });
    },
  };
  for (let waited = 0; (await replication.standbyState()) !== 'sync'; waited += 50) {
    if (waited > 30_000) {
      replication.remove();
      throw new Error(`${standby.name} did not become a synchronous standby of ${primary.name}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return replication;
}
