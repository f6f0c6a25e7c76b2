// Does being watched cost the helpers anything? On each backend, with 10,000 sessions in the
// database: helper calls through the resident service, timed one after another for QUIET_S
// seconds with nobody scraping, then for SCRAPE_S seconds while a separate process scrapes
// /metrics every second (as a Prometheus with scrape_interval 1s would; five times more often
// than the 5 s the issue names). Reports median and 95th percentile of each phase and the
// service's RSS at the end.
//
//   sudo npm run bench:scrape                (both backends)
//   sudo npm run bench:scrape -- sqlite      (one of: sqlite, postgres)
//
// Needs root, cc, x2goserver's group x2gouser, PostgreSQL for its row. Bars: the scraped phase's
// median within 15% + 0.5 ms of the quiet one's (noise on a shared 2-core machine), and the
// service's RSS under 150 MB (the bar of bench/helpers.bench.ts). Exit code 1 when one is missed.

import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { BACKENDS, type TestDatabase } from '../test/support/backends.js';
import { installLauncher } from '../test/support/launcher.js';
import { startWatchedService } from '../test/support/observe.js';
import { superuser } from '../test/support/postgres.js';
import { LOAD_TEST_QUOTA, setQuota } from '../test/support/sandbox.js';
import { ensureUser, timeWith } from '../test/support/system.js';
import { runBenchmark } from './run.js';
import { buildTimeit } from './timeit.js';

const QUIET_S = Number(process.env.QUIET_S ?? 30);
const SCRAPE_S = Number(process.env.SCRAPE_S ?? 60);
const SESSIONS = 10_000;
const BAR_RSS_MB = 150;
const NOISE = { factor: 1.15, ms: 0.5 };
const SRV = 'x2go-scrape';

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

async function fill(box: TestDatabase): Promise<void> {
  // An id's display has at most 4 digits (PostgreSQL checks it): the ids differ by their time part.
  const row = (i: number) => [`alice-50-${1600000000 + i}_stDxfce_dp24`, 2000 + i, 'alice', SRV, 'RSF'[i % 3] ?? 'R'] as const;
  if (box.backend.kind === 'sqlite') {
    const db = new Database(box.database);
    const insert = db.prepare('INSERT INTO sessions (session_id, display, uname, server, status) VALUES (?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < SESSIONS; i++) insert.run(...row(i));
    })();
    db.close();
    return;
  }
  const sql = superuser(box.database);
  try {
    // The same rows, made by the server (one statement).
    await sql`INSERT INTO sessions (session_id, display, uname, server, status, creator_id)
      SELECT 'alice-50-' || (1600000000 + i) || '_stDxfce_dp24', 2000 + i, 'alice', ${SRV},
        (ARRAY['R', 'S', 'F'])[i % 3 + 1], 'x2gouser_alice'
      FROM generate_series(0, ${SESSIONS - 1}) AS i`;
  } finally {
    await sql.end();
  }
}

async function bench(kind: 'sqlite' | 'postgres', timeit: string): Promise<boolean> {
  const backend = BACKENDS.find((b) => b.kind === kind);
  if (!backend) throw new Error(kind);
  const alice = ensureUser('alice');
  ensureUser('bob');
  const box = await backend.createDatabase({ database: 'x2go_bench_scrape', users: ['alice', 'bob'], serviceLogin: true });
  setQuota(box.configDir, LOAD_TEST_QUOTA);
  await fill(box);
  const inst = installLauncher(box, { service: false });
  const watched = await startWatchedService(box.configDir, inst.socket);
  let ok = true;
  try {
    // Calls of a login: the servers (placement) and the displays in use.
    const call = (i: number) => {
      timeWith(timeit);
      try {
        const r = i % 2 ? inst.helper('x2gogetdisplays', [SRV], alice) : inst.helper('x2gogetservers', [], alice);
        if (r.code !== 0 || r.ms === undefined) throw new Error(`exit ${r.code}: ${r.stderr}`);
        return r.ms;
      } finally {
        timeWith(undefined);
      }
    };
    for (let i = 0; i < 20; i++) call(i);
    const phase = (seconds: number) => {
      const times: number[] = [];
      for (const end = Date.now() + seconds * 1000; Date.now() < end; ) times.push(call(times.length));
      return times;
    };
    const quiet = phase(QUIET_S);
    // The scraper is a process of its own: this one blocks in each timed call.
    const scraper = spawn(
      process.execPath,
      [
        '-e',
        `let n = 0, failed = 0; const t = setInterval(() => fetch(${JSON.stringify(`${watched.url}/metrics`)}).then((r) => r.text()).then(() => n++, () => failed++), 1000);
         setTimeout(() => { clearInterval(t); setTimeout(() => { console.log(JSON.stringify({ n, failed })); process.exit(0); }, 500); }, ${SCRAPE_S * 1000});`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let scraperOut = '';
    scraper.stdout?.setEncoding('utf8').on('data', (d: string) => (scraperOut += d));
    const done = new Promise((resolve) => scraper.on('exit', resolve));
    const scraped = phase(SCRAPE_S);
    await done;
    const scrapes = JSON.parse(scraperOut || '{"n":0,"failed":0}') as { n: number; failed: number };
    const rssMb = (await watched.service.stats()).rssBytes / 1024 / 1024;
    const [q50, s50] = [quantile(quiet, 0.5), quantile(scraped, 0.5)];
    const latencyOk = s50 <= q50 * NOISE.factor + NOISE.ms;
    const rssOk = rssMb < BAR_RSS_MB;
    ok = latencyOk && rssOk && scrapes.failed === 0 && scrapes.n >= SCRAPE_S - 2;
    console.log(
      `| ${kind} | ${quiet.length} | ${q50.toFixed(2)} / ${quantile(quiet, 0.95).toFixed(2)} | ${scraped.length} | ${s50.toFixed(2)} / ${quantile(scraped, 0.95).toFixed(2)} | ${scrapes.n} (${scrapes.failed} failed) | ${rssMb.toFixed(1)} | ${latencyOk ? 'ok' : 'MISSED'} / ${rssOk ? 'ok' : 'MISSED'} |`,
    );
  } finally {
    await watched.service.stop();
    await box.drop();
  }
  return ok;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('bench:scrape needs root (real users, the service)');
    return 2;
  }
  const which = process.argv[2];
  const kinds: ('sqlite' | 'postgres')[] = which === 'sqlite' || which === 'postgres' ? [which] : ['sqlite', 'postgres'];
  const timeit = buildTimeit();
  console.log(
    `helper calls through x2gosessiond, ${SESSIONS} sessions in the database; ${QUIET_S} s quiet, then ${SCRAPE_S} s with /metrics scraped every second`,
  );
  console.log(
    '| backend | calls quiet | quiet ms p50 / p95 | calls scraped | scraped ms p50 / p95 | scrapes | service RSS MB | bars (latency / RSS) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---|');
  let ok = true;
  for (const kind of kinds) ok = (await bench(kind, timeit)) && ok;
  return ok ? 0 : 1;
}

runBenchmark(main);
