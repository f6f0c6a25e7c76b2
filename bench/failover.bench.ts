// PostgreSQL failover under a login storm (issue 14, item 3): two clusters of its own on this
// machine (a primary and a synchronous streaming standby, test/support/replication.ts), a
// scratch server configured with host= naming both, its resident service, and lanes of
// logins running x2gostartagent's own database code as real users (test/support/failover.ts).
// Mid-storm the primary is killed with SIGKILL and the standby promoted at once. Printed per
// run: the time from the primary's death to the end of the first login begun after it that
// succeeded (so both of its calls, the reservation and x2gocreatesession, ran on the new
// primary), the promotion's own part of that, and how many logins failed during the outage
// and in all. The service is never restarted.
//
//   sudo npm run bench:failover -- [runs] [lanes]      (default: 3 runs, 8 logins at once)
//
// Bars: every run's first success within 10 s of the death, no answered login missing on the
// new primary; exit code 1 when one is missed. Touches neither the main cluster nor /etc/x2go.

import { existsSync } from 'node:fs';
import { createFailoverFarm, failoverFigures, failoverStorm, startedSession } from '../test/support/failover.js';
import { hasCompiler, hasReference, isRoot } from '../test/support/requirements.js';
import { runBenchmark } from './run.js';

async function main(): Promise<number> {
  const [runs = 3, lanes = 8] = process.argv.slice(2).map(Number);
  if (!isRoot || !hasReference || !hasCompiler || !existsSync('/usr/bin/pg_createcluster')) {
    console.error('bench:failover: needs root, the reference (x2goserver), cc and postgresql');
    return 2;
  }
  const rows: string[][] = [];
  const why: Record<string, number> = {};
  let met = true;
  for (let i = 1; i <= runs; i++) {
    const farm = await createFailoverFarm(['alice', 'bob']);
    try {
      const run = await failoverStorm(farm, { lanes, killAfter: 1500, runAfter: 2500 });
      const f = failoverFigures(run);
      const lost = run.logins.filter((l) => {
        const s = startedSession(l);
        return s && !run.census.has(s.session);
      }).length;
      for (const [message, n] of Object.entries(f.why)) why[message] = (why[message] ?? 0) + n;
      if (f.firstSuccess === undefined || f.firstSuccess > 10_000 || lost > 0 || !run.serviceAlive) met = false;
      rows.push([
        String(i),
        String(lanes),
        f.promotion.toFixed(0),
        f.firstSuccess === undefined ? 'none' : f.firstSuccess.toFixed(0),
        String(f.failedDuring),
        `${f.ok} / ${run.logins.length}`,
        String(lost),
      ]);
    } finally {
      await farm.remove();
    }
  }
  const header = [
    'run',
    'logins at once',
    'promotion ms',
    'death to first success ms',
    'failed during outage',
    'ok / tried (whole storm)',
    'answered but lost',
  ];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((v, c) => v.padStart(widths[c] ?? 0)).join(' | ')} |`;
  console.log(`\nnode ${process.version}; SIGKILL of the primary mid-storm, standby promoted at once (pg_promote)\n`);
  console.log(line(header));
  console.log(`|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`);
  for (const r of rows) console.log(line(r));
  if (Object.keys(why).length) console.log('\nwhat the failed logins said:');
  for (const [message, n] of Object.entries(why)) console.log(`${String(n).padStart(5)}  ${message}`);
  console.log(
    `\n${met ? 'ok    ' : 'MISSED'} first success within 10 s of the death, every answered login on the new primary, one service throughout`,
  );
  return met ? 0 : 1;
}

runBenchmark(main);
