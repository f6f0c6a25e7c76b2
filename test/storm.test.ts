// A login storm as an installed server sees it, on both backends: 32 users' logins at once, each
// running x2gostartagent's own database code (Debian's script with
// contrib/x2gostartagent-reserve.patch applied by `patch`, see support/startagent.ts) as that
// user, through the setgid launcher of a scratch prefix and the resident service. Every login
// gets its session, no display or port is handed out twice, and the service answered every
// call (a launcher that fell back to Node would pass unnoticed otherwise).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { lookupGroupId, type Account } from '../src/system/accounts.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { createPgSandbox, ensurePostgres, hasPostgres, superuser, type PgSandbox } from './support/postgres.js';
import { hasCompiler, hasReference, isRoot, requires } from './support/requirements.js';
import { createSandbox, type Sandbox } from './support/sandbox.js';
import type { RunningService } from './support/service.js';
import { makeStarters, type Starters } from './support/startagent.js';
import { ensureUser, runAsync } from './support/system.js';

const STARTERS = 32;
const HOST = 'x2go-storm';
/** Two users, half the logins each: a storm is many users (and stays within per-user limits). */
const USERS = ['alice', 'bob'];

/** Per session: display, cookie (set by x2gocreatesession; PostgreSQL pads its char(33)), status, its ports. */
type Census = Map<string, { display: number; cookie: string | null; status: string; ports: number[] }>;

interface Backend {
  name: string;
  needs: ReturnType<typeof requires>;
  setup(): Promise<Sandbox>;
  census(box: Sandbox): Promise<Census>;
  teardown(box: Sandbox): Promise<void>;
}

const base = [
  [isRoot, 'root'],
  [hasCompiler, '/usr/bin/cc'],
  [hasReference, "the reference's x2gostartagent (apt-get install x2goserver)"],
  [existsSync('/usr/bin/patch'), '/usr/bin/patch (apt-get install patch)'],
  [lookupGroupId('x2gouser') !== undefined, 'group x2gouser (x2goserver)'],
] as [boolean, string][];

function censusOf(rows: { session_id: string; display: number; cookie: string | null; status: string }[], ports: { session_id: string; port: number }[]): Census {
  const census: Census = new Map(rows.map((r) => [r.session_id, { display: Number(r.display), cookie: r.cookie?.trim() ?? null, status: r.status.trim(), ports: [] as number[] }]));
  for (const p of ports) census.get(p.session_id)?.ports.push(Number(p.port));
  return census;
}

const backends: Backend[] = [
  {
    name: 'SQLite',
    needs: requires(...base),
    setup: async () => {
      const box = createSandbox();
      assert.equal(box.admin(['--createdb']).code, 0);
      return box;
    },
    census: async (box) => {
      const db = new Database(box.dbPath, { readonly: true });
      try {
        return censusOf(db.prepare('select session_id, display, cookie, status from sessions').all() as never, db.prepare('select session_id, port from used_ports').all() as never);
      } finally {
        db.close();
      }
    },
    teardown: async (box) => box.remove(),
  },
  {
    name: 'PostgreSQL',
    needs: requires(...base, [hasPostgres, 'PostgreSQL (apt-get install postgresql)']),
    setup: async () => {
      ensurePostgres();
      const box = createPgSandbox('x2go_storm');
      for (const args of [['--createdb', '--force'], ...USERS.map((u) => ['--adduser', u])]) {
        const r = box.admin(args);
        assert.equal(r.code, 0, r.stderr);
      }
      return box;
    },
    census: async (box) => {
      const sql = superuser((box as PgSandbox).database);
      try {
        return censusOf(await sql`select session_id, display, cookie, status from sessions` as never, await sql`select session_id, port from used_ports` as never);
      } finally {
        await sql.end();
      }
    },
    teardown: (box) => (box as PgSandbox).drop(),
  },
];

for (const backend of backends) {
  describe(`a login storm through the patched x2gostartagent, the launcher and the service (${backend.name})`, backend.needs.options, () => {
    let box: Sandbox;
    let inst: Installed;
    let starters: Starters;
    let users: Account[];

    before(async () => {
      backend.needs.check();
      users = USERS.map((u) => ensureUser(u));
      box = await backend.setup();
      inst = installLauncher(box, { service: true });
      starters = makeStarters();
    });
    after(async () => {
      await inst?.service?.stop();
      starters?.remove();
      if (box) await backend.teardown(box);
    });

    test(`${STARTERS} logins at once: every one gets its session, no display or port twice, all answered by the service`, async () => {
      const lib = starters.libPath(join(inst.prefix, 'helpers'));
      const results = await Promise.all(
        Array.from({ length: STARTERS }, (_, i) =>
          runAsync('/bin/bash', [starters.patched], {
            as: users[i % users.length] as Account,
            env: { X2GO_LIB_PATH: lib, X2GO_STORM_HOST: HOST, X2GO_SESSIONDB_RESERVE: join(inst.prefix, 'helpers', 'x2goreservesession') },
          }),
        ),
      );
      for (const r of results) assert.deepEqual([r.code, r.stderr], [0, ''], r.stdout);
      const started = results.map((r) => r.stdout.trim().split(' '));
      const census = await backend.census(box);
      assert.equal(census.size, STARTERS);
      for (const [display, session, ...ports] of started) {
        const row = census.get(session ?? '');
        assert.ok(row, `${session} is not in the database`);
        assert.equal(row.display, Number(display));
        assert.equal(row.status, 'R');
        assert.match(row.cookie ?? '', /^[0-9a-f]{32}$/, `${session}: x2gocreatesession did not complete it`);
        assert.deepEqual([...row.ports].sort(), ports.map(Number).sort(), `${session}: its ports`);
      }
      const displays = [...census.values()].map((r) => r.display);
      const allPorts = [...census.values()].flatMap((r) => r.ports);
      assert.equal(new Set(displays).size, STARTERS, 'a display handed out twice');
      assert.equal(allPorts.length, STARTERS * 3);
      assert.equal(new Set(allPorts).size, allPorts.length, 'a port handed out twice');
      // Each login: x2goreservesession, then x2gocreatesession.
      const stats = await (inst.service as RunningService).stats();
      assert.deepEqual([stats.requests, stats.failed, stats.rejected], [STARTERS * 2, 0, 0], (inst.service as RunningService).log());
    });
  });
}
