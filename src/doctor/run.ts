// x2go-sessiondb doctor [--fix] [--json]: runs every check (checks.ts) and, with --fix, carries
// out what is safe, one line per action. A session whose agent runs is never touched: that is
// checked again just before each repair. Exit 0 when nothing was found, 1 otherwise (also when
// everything found was fixed: the next run says whether the farm is clean).

import { hostname } from 'node:os';
import { loadBackend } from '../backends/backend.js';
import { loadSettings } from '../config/config.js';
import { loadSessiondSettings } from '../config/sessiond.js';
import type { DoctorBackend, Repairer } from '../model/doctor.js';
import { exposedBesidesLauncher } from '../install/setgid-audit.js';
import { chmodNoFollow } from '../system/chmod-nofollow.js';
import { CHECKS, type DoctorContext, type DoctorFinding, type HostRepair } from './checks.js';
import { agentRuns, removeStaleX, X_PATHS, type XPaths } from './host.js';
import type { Repair } from '../model/doctor.js';
import { SessionDbError } from '../model/errors.js';

export interface DoctorOptions {
  configDir: string;
  prefix: string;
  fix: boolean;
  json: boolean;
  /** This node's name in the database; the host name unless given. */
  server?: string | undefined;
  x?: XPaths | undefined;
  /** Only these checks (names as CHECKS has them); all when undefined. */
  only?: readonly string[] | undefined;
  skip?: readonly string[] | undefined;
  displayBase?: number;
}

interface CheckReport {
  name: string;
  title: string;
  count: number;
  findings: { subject: string; detail: string; fixable: boolean }[];
}

/** The check names, as --only and --skip take them; an unknown one is refused before anything runs. */
export function checkNames(list: string | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  const names = list.split(',').filter(Boolean);
  const unknown = names.find((n) => !CHECKS.some((c) => c.name === n));
  if (unknown !== undefined)
    throw new SessionDbError('invalid', `no check named ${unknown}; the checks are ${CHECKS.map((c) => c.name).join(', ')}`);
  return names;
}

export async function doctor(options: DoctorOptions): Promise<{ lines: string[]; code: number }> {
  const settings = loadSettings(options.configDir);
  const sessiond = loadSessiondSettings(options.configDir);
  const backend = await loadBackend(settings.backend.name);
  const db = await backend.openDoctor(settings);
  const server = options.server ?? hostname();
  const ctx: DoctorContext = {
    facts: await db.inspect(),
    server,
    nodeTimeout: sessiond.nodeTimeoutS,
    purgeAge: sessiond.purgeAgeS,
    x: options.x ?? X_PATHS,
    displayBase: options.displayBase ?? 50,
    exposedSetgid: exposedBesidesLauncher(options.prefix),
  };
  const chosen = CHECKS.filter((c) => (options.only?.includes(c.name) ?? true) && !options.skip?.includes(c.name));
  const found = chosen.map((check) => ({ check, findings: check.run(ctx) }));
  const total = found.reduce((n, f) => n + f.findings.length, 0);

  const fixed: string[] = [];
  if (options.fix) {
    const by: Repairer = { uid: process.getuid?.() ?? 0, node: server };
    for (const { findings } of found) {
      for (const finding of findings) {
        if (finding.repair) fixed.push(await repairOne(finding, finding.repair, { db, ctx, by, configDir: options.configDir }));
      }
    }
  }

  const reports: CheckReport[] = found.map(({ check, findings }) => ({
    name: check.name,
    title: check.title,
    count: findings.length,
    findings: findings.map((f) => ({ subject: f.subject, detail: f.detail, fixable: f.repair !== undefined })),
  }));
  const code = total === 0 ? 0 : 1;
  if (options.json) {
    return { lines: [JSON.stringify({ server, backend: settings.backend.name, clean: total === 0, checks: reports, fixed })], code };
  }
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`${r.count === 0 ? 'ok   ' : 'FOUND'} ${r.name}: ${r.title}${r.count === 0 ? '' : ` (${r.count})`}`);
    for (const f of r.findings) lines.push(`        ${f.subject}: ${f.detail}${f.fixable ? '' : ' [not fixed automatically]'}`);
  }
  lines.push(...fixed.map((line) => `fixed: ${line}`));
  lines.push(
    total === 0
      ? `doctor: ${server}: clean`
      : `doctor: ${server}: ${total} finding(s)${options.fix ? `, ${fixed.length} repair(s) made` : '; x2go-sessiondb doctor --fix repairs what is safe'}`,
  );
  return { lines, code };
}

async function repairOne(
  finding: DoctorFinding,
  repair: Repair | HostRepair,
  env: { db: DoctorBackend; ctx: DoctorContext; by: Repairer; configDir: string },
): Promise<string> {
  switch (repair.kind) {
    case 'drop-setgid': {
      chmodNoFollow(repair.path, 'file', (mode) => mode & ~0o2000);
      return `${repair.path}: setgid bit removed`;
    }
    case 'update-schema': {
      const settings = loadSettings(env.configDir);
      const admin = await (await loadBackend(settings.backend.name)).openAdmin(settings);
      const report = await admin.updatedb();
      if (report.failure) throw report.failure;
      return `schema updated (${report.lines.length} migration line(s))`;
    }
    case 'end-session': {
      // Never a session whose agent runs: judged again now, on this node's own sessions.
      const row = env.ctx.facts.sessions.find((s) => s.sessionId === repair.sessionId);
      const here = row !== undefined && row.server === env.ctx.server;
      if (here && agentRuns(row.agentPid, row.sessionId)) return `${repair.sessionId}: its agent runs again; left alone`;
      const line = await env.db.repair(repair, env.by);
      const removed = here ? removeStaleX(row.display, env.ctx.x) : [];
      return removed.length ? `${line}; removed ${removed.join(', ')}` : line;
    }
    default:
      return env.db.repair(repair, env.by).catch((err: unknown) => `${finding.subject}: not repaired: ${(err as Error).message}`);
  }
}
