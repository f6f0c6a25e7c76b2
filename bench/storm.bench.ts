// Login storms as an installed server sees them, the reference and ours in one run, on SQLite and
// on PostgreSQL: P starters at once (real users, sixteen by turns), each starting S
// sessions one after another, each start running x2gostartagent's own database code (see
// test/support/startagent.ts):
//
//   reference             Debian's x2gostartagent (read, pick, insert, retry up to 10 times) on
//                         the reference's Perl helpers;
//   ours                  after `x2go-sessiondb install`: the same script with
//                         contrib/x2gostartagent-reserve.patch, as the installer patches it
//                         (one x2goreservesession call), then x2gocreatesession, both through
//                         the installed launcher, which runs Node itself;
//   ours, service         the same, answered by the resident service x2gosessiond, as installed.
//
//   sudo npm run bench:storm -- [sqlite|postgres] [PxS] [ours]   (default: both backends, 64x3;
//                                                                  `ours` leaves out the reference)
//
// A start counts as ok when the script exited 0 and its session is in the database complete
// (cookie set by x2gocreatesession, 3 ports). Duplicates are counted by a query over the
// database after each run. Bars (issue #10): ours, as installed (with the service), no failed
// login and no duplicate, on both backends; ours without the service, no duplicate. Exit code 1
// when a bar is missed. Changes the system's x2goserver during the run (the drop-in), and puts
// it back.

import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Account } from '../src/system/accounts.js';
import { DEFAULT_SOCKET } from '../src/service/protocol.js';
import { hasPostgres, shareServiceLogin, superuser } from '../test/support/postgres.js';
import { freshReferenceDb, REFERENCE_DB, REFERENCE_LIB } from '../test/support/reference.js';
import { hasCompiler, hasReference, isRoot } from '../test/support/requirements.js';
import { startService, type RunningService } from '../test/support/service.js';
import { makeStarters, type Starters } from '../test/support/startagent.js';
import { ensureUser, run, runAsync } from '../test/support/system.js';
import { runBenchmark } from './run.js';

type Backend = 'sqlite' | 'postgres';
type Method = 'reference' | 'ours' | 'service';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const HOST = 'x2go-storm';
// Sixteen users, so that 64 starters x 3 stay within the default per-user quota (20 sessions):
// a login storm is many users logging in at once.
const USERS = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'kim',
  'leo',
  'mia',
  'ned',
  'olga',
  'pat',
];

const METHOD_NAMES: Record<Method, string> = {
  reference: 'reference x2gostartagent, Perl helpers',
  ours: 'ours: patched x2gostartagent, launcher runs Node',
  service: 'ours: patched x2gostartagent, service (as installed)',
};

interface Outcome {
  tried: number;
  ok: number;
  seconds: number;
  dupDisplays: number;
  dupPorts: number;
}

/** Session ids in the database whose session is complete: created, and holding its 3 ports. */
async function completeSessions(backend: Backend): Promise<{ complete: Set<string>; dupDisplays: number; dupPorts: number }> {
  const complete = `select session_id from sessions s where cookie is not null and trim(cookie) <> ''
    and (select count(*) from used_ports p where p.session_id = s.session_id) = 3`;
  const dupDisplays = 'select count(*) as n from (select display from sessions group by display having count(*) > 1) x';
  const dupPorts = 'select count(*) as n from (select port from used_ports group by port having count(*) > 1) x';
  if (backend === 'sqlite') {
    const db = new Database(REFERENCE_DB, { readonly: true });
    try {
      return {
        complete: new Set(db.prepare(complete).pluck().all() as string[]),
        dupDisplays: db.prepare(dupDisplays).pluck().get() as number,
        dupPorts: db.prepare(dupPorts).pluck().get() as number,
      };
    } finally {
      db.close();
    }
  }
  const sql = superuser('x2go_sessions');
  try {
    const [d] = await sql.unsafe(dupDisplays);
    const [p] = await sql.unsafe(dupPorts);
    return {
      complete: new Set((await sql.unsafe(complete)).map((r) => String(r.session_id))),
      dupDisplays: Number(d?.n ?? 0),
      dupPorts: Number(p?.n ?? 0),
    };
  } finally {
    await sql.end();
  }
}

/** A clean slate for the next run. */
async function reset(backend: Backend): Promise<void> {
  if (backend === 'sqlite') {
    const db = new Database(REFERENCE_DB);
    db.exec('delete from used_ports; delete from mounts; delete from sessions;');
    db.close();
    return;
  }
  const sql = superuser('x2go_sessions');
  try {
    // As root's role: the reference's rules silently skip a superuser's delete of others' rows.
    await sql`set role x2godbuser`;
    await sql`delete from used_ports`;
    await sql`delete from mounts`;
    await sql`delete from sessions`;
  } finally {
    await sql.end();
  }
}

async function storm(backend: Backend, script: string, lib: string, users: Account[], p: number, s: number): Promise<Outcome> {
  const started = process.hrtime.bigint();
  const claimed: string[] = [];
  const why = new Map<string, number>();
  await Promise.all(
    Array.from({ length: p }, async (_, worker) => {
      for (let i = 0; i < s; i++) {
        const r = await runAsync('/bin/bash', [script], {
          as: users[worker % users.length] as Account,
          env: { X2GO_LIB_PATH: lib, X2GO_STORM_HOST: HOST },
        });
        if (r.code === 0) claimed.push(r.stdout.trim().split(' ')[1] ?? '');
        else {
          // x2gostartagent's message, without the parameters that name each session.
          const line = (r.stderr.trim().split('\n').pop() || `exit ${r.code}`).split('; parameters:')[0] ?? '';
          why.set(line, (why.get(line) ?? 0) + 1);
        }
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // What the failed starts said, so that a failure in the table can be told apart from another.
  for (const [line, count] of why) console.error(`  ${count} x ${line}`);
  const db = await completeSessions(backend);
  await reset(backend);
  return {
    tried: p * s,
    ok: claimed.filter((sid) => db.complete.has(sid)).length,
    seconds,
    dupDisplays: db.dupDisplays,
    dupPorts: db.dupPorts,
  };
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const only = args.find((a) => a === 'sqlite' || a === 'postgres') as Backend | undefined;
  const shape = /^(\d+)x(\d+)$/.exec(args.find((a) => /^\d+x\d+$/.test(a)) ?? '64x3');
  const [p, s] = [Number(shape?.[1]), Number(shape?.[2])];
  const backends: Backend[] = only ? [only] : ['sqlite', 'postgres'];
  const methods: Method[] = args.includes('ours') ? ['ours', 'service'] : ['reference', 'ours', 'service'];
  if (!isRoot || !hasReference || !hasCompiler || (backends.includes('postgres') && !hasPostgres)) {
    console.error('bench:storm: needs root, the reference (x2goserver libdbd-pg-perl pwgen), cc and, for PostgreSQL, postgresql');
    return 2;
  }
  const users = USERS.map((u) => ensureUser(u));
  const starters: Starters = makeStarters();
  // /usr/lib/x2go's helpers: the reference's, and ours once installed (the links follow).
  const lib = starters.libPath(REFERENCE_LIB);
  const outcomes = new Map<string, Outcome>();
  const rows: string[][] = [];
  const sessiondb = (argv: string[]) => run(join(DIST, 'x2go-sessiondb.cjs'), argv);
  let service: RunningService | undefined;

  try {
    for (const backend of backends) {
      const restore = await freshReferenceDb(backend, USERS);
      try {
        for (const method of methods) {
          if (method === 'ours') {
            const out = sessiondb(['install']);
            if (out.code !== 0) throw new Error(`x2go-sessiondb install: ${out.stderr}`);
          }
          if (method === 'service') {
            if (backend === 'postgres') shareServiceLogin('/etc/x2go');
            service = await startService('/etc/x2go', DEFAULT_SOCKET);
          }
          const o = await storm(backend, method === 'reference' ? starters.reference : starters.patched, lib, users, p, s);
          outcomes.set(`${backend} ${method}`, o);
          const reference = outcomes.get(`${backend} reference`);
          const rate = (x: Outcome) => x.ok / x.seconds;
          rows.push([
            backend,
            METHOD_NAMES[method],
            `${p}x${s}`,
            `${o.ok} / ${o.tried}`,
            String(o.tried - o.ok),
            `${o.dupDisplays} / ${o.dupPorts}`,
            rate(o).toFixed(2),
            method === 'reference' ? '1.0x' : reference && rate(reference) > 0 ? `${(rate(o) / rate(reference)).toFixed(1)}x` : 'n/a',
          ]);
          console.error(rows[rows.length - 1]?.join(' | '));
        }
        if (service) {
          const stats = await service.stats();
          console.error(
            `${backend}: the service answered ${stats.requests} requests, ${stats.failed} failed (${stats.unavailable} unavailable), ${stats.rejected} rejected`,
          );
        }
      } finally {
        await service?.stop();
        service = undefined;
        rmSync(dirname(DEFAULT_SOCKET), { recursive: true, force: true });
        sessiondb(['uninstall']);
        restore();
        if (backend === 'postgres') {
          const su = superuser();
          await su.unsafe('DROP DATABASE IF EXISTS x2go_sessions WITH (FORCE)');
          await su.end();
        }
      }
    }
  } finally {
    starters.remove();
  }

  const header = ['backend', 'x2gostartagent', 'P x S', 'ok / tried', 'failed', 'dup displays / ports', 'sessions/s', 'vs reference'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((v, c) => (c >= 2 ? v.padStart(widths[c] ?? 0) : v.padEnd(widths[c] ?? 0))).join(' | ')} |`;
  console.log(`\nnode ${process.version}; P starters at once (${USERS.join(', ')} by turns), S starts each\n`);
  console.log(line(header));
  console.log(`|${widths.map((w, c) => (c >= 2 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const r of rows) console.log(line(r));

  const bars: [string, boolean][] = [];
  for (const backend of backends) {
    const installed = outcomes.get(`${backend} service`);
    const fallback = outcomes.get(`${backend} ours`);
    bars.push([
      `${backend}: ${METHOD_NAMES.service}: no failed login, no duplicate`,
      !!installed && installed.ok === installed.tried && installed.dupDisplays + installed.dupPorts === 0,
    ]);
    bars.push([`${backend}: ${METHOD_NAMES.ours}: no duplicate`, !!fallback && fallback.dupDisplays + fallback.dupPorts === 0]);
  }
  console.log('');
  for (const [what, met] of bars) console.log(`${met ? 'ok    ' : 'MISSED'} ${what}`);
  return bars.every(([, met]) => met) ? 0 : 1;
}

runBenchmark(main);
