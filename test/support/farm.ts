// A PostgreSQL farm for the farm-operation suites: one database, one configuration, and an
// x2gosessiond per node, each with its own server name (--hostname), as separate servers
// would run them. Heartbeats are short (heartbeat=1, node_timeout=3) so that a node's death
// shows within seconds; the services log at info, so that their logs show who did what.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { RUNAS_SOCKET_ENV } from '../../src/service/run-as-session-user.js';
import { startRunAs } from './runas.js';
import type { Account } from '../../src/system/accounts.js';
import { createPgSandbox, ensurePostgres, shareServiceLogin, superuser, type PgSandbox } from './postgres.js';
import { DIST } from './sandbox.js';
import { socketPath, startService, type RunningService } from './service.js';
import { ensureUser, runAsync, type Result } from './system.js';

const TOP_LEVEL = ['x2godb', 'x2godbadmin', 'x2go-sessiondb'];

export const HEARTBEAT_S = 1;
export const NODE_TIMEOUT_S = 3;

export interface Farm {
  box: PgSandbox;
  users: Account[];
  services: Map<string, RunningService>;
  /** A program of dist/ (x2godb, x2go-sessiondb, or a helper by name), as a user or as root. */
  program(name: string, args: string[], as?: Account, env?: Record<string, string>): Promise<Result>;
  /** The node's service, started (again) with its server name. */
  startNode(node: string, env?: Record<string, string>): Promise<RunningService>;
  /** One query as the cluster's superuser. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export function sid(user: string, display: number): string {
  return `${user}-${display}-17000${String(display).padStart(5, '0')}_stDxfce_dp24`;
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - start;
}

/** `serviceEnv` gives each node's service its environment (e.g. a PATH with stand-in programs). */
export async function createFarm(
  database: string,
  nodes: string[],
  serviceEnv: (node: string) => Record<string, string> = () => ({}),
): Promise<Farm> {
  ensurePostgres();
  const users = [ensureUser('alice'), ensureUser('bob')];
  const box = createPgSandbox(
    database,
    `[telekinesis]\nenable=no\n[log]\nloglevel=info\n[sessiond]\nheartbeat=${HEARTBEAT_S}\nnode_timeout=${NODE_TIMEOUT_S}\n`,
  );
  for (const args of [
    ['--createdb', '--force'],
    ['--adduser', 'alice'],
    ['--adduser', 'bob'],
  ]) {
    const r = box.admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  shareServiceLogin(box.configDir);
  const services = new Map<string, RunningService>();
  const runas: ChildProcess[] = [];
  const sql = superuser(database);
  const farm: Farm = {
    box,
    users,
    services,
    program: (name, args, as, env = {}) =>
      runAsync(process.execPath, [join(DIST, TOP_LEVEL.includes(name) ? `${name}.cjs` : `helpers/${name}`), ...args], {
        ...(as ? { as } : {}),
        env: { X2GO_CONFIG_DIR: box.configDir, ...env },
      }),
    startNode: async (node, env = {}) => {
      // The node's root helper, as x2gosessiond-runas.service runs beside the service: what the
      // service (not root) asks of it, with the stand-in programs of the node's PATH, if any.
      const nodeEnv = { ...serviceEnv(node), ...env };
      const runasSocket = await startRunAs(box.configDir, node, nodeEnv.PATH, runas);
      // The service inherits the environment (a PATH with stand-in programs): spawned at the call.
      const saved = { ...process.env };
      Object.assign(process.env, nodeEnv, { [RUNAS_SOCKET_ENV]: runasSocket });
      const starting = startService(box.configDir, socketPath(), ['--hostname', node]);
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
      const service = await starting;
      services.set(node, service);
      return service;
    },
    query: async (text, params = []) => (await sql.unsafe(text, params as never[])) as never,
    close: async () => {
      for (const service of services.values()) await service.stop();
      for (const child of runas) child.kill('SIGTERM');
      await sql.end();
      await box.drop();
    },
  };
  for (const node of nodes) await farm.startNode(node);
  await waitFor(
    'every node registered',
    async () => (await farm.query('select count(*)::int as n from nodes'))[0]?.n === nodes.length,
    10_000,
  );
  return farm;
}
