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
import type { Account } from '../src/system/accounts.js';
import { BACKENDS, NEEDS_ROOT, NEEDS_X2GOUSER, type TestDatabase } from './support/backends.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { hasCompiler, hasReference } from './support/requirements.js';
import type { RunningService } from './support/service.js';
import { makeStarters, type Starters } from './support/startagent.js';
import { ensureUser, runAsync } from './support/system.js';

const STARTERS = 32;
const HOST = 'x2go-storm';
/** Two users, half the logins each: a storm is many users (and stays within per-user limits). */
const USERS = ['alice', 'bob'];

/** Per session: display, cookie (set by x2gocreatesession; PostgreSQL pads its char(33)), status, its ports. */
type Census = Map<string, { display: number; cookie: string | null; status: string; ports: number[] }>;

const base = [
  NEEDS_ROOT,
  [hasCompiler, '/usr/bin/cc'],
  [hasReference, "the reference's x2gostartagent (apt-get install x2goserver)"],
  [existsSync('/usr/bin/patch'), '/usr/bin/patch (apt-get install patch)'],
  NEEDS_X2GOUSER,
] as [boolean, string][];

type StoredSession = { session_id: string; display: number; cookie: string | null; status: string };

function censusOf(rows: StoredSession[], ports: { session_id: string; port: number }[]): Census {
  const census: Census = new Map(
    rows.map((r) => [
      r.session_id,
      { display: Number(r.display), cookie: r.cookie?.trim() ?? null, status: r.status.trim(), ports: [] as number[] },
    ]),
  );
  for (const p of ports) census.get(p.session_id)?.ports.push(Number(p.port));
  return census;
}

/** Sessions and ports as the storm left them, on either backend. */
async function stormCensus(box: TestDatabase): Promise<Census> {
  return censusOf(
    await box.query<StoredSession>('select session_id, display, cookie, status from sessions'),
    await box.query<{ session_id: string; port: number }>('select session_id, port from used_ports'),
  );
}

for (const backend of BACKENDS) {
  const needs = backend.needs(...base);
  describe(`a login storm through the patched x2gostartagent, the launcher and the service (${backend.name})`, needs.options, () => {
    let box: TestDatabase;
    let inst: Installed;
    let starters: Starters;
    let users: Account[];

    before(async () => {
      needs.check();
      users = USERS.map((u) => ensureUser(u));
      box = await backend.createDatabase({ database: 'x2go_storm', users: USERS });
      inst = installLauncher(box, { service: true });
      starters = makeStarters();
    });
    after(async () => {
      await inst?.service?.stop();
      starters?.remove();
      if (box) await box.drop();
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
      const census = await stormCensus(box);
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
