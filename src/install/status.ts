// x2go-sessiondb status: which implementation each of the reference's paths runs, which
// x2gostartagent runs, the backend in use, its schema version, and whether the database
// answers. Exit code 1 when the paths are mixed, our x2gostartagent is stale, a setgid x2gouser
// program other than our launcher can be run by users, or the database does not answer, so
// that monitoring can use it.

import { loadBackend } from '../backends/backend.js';
import { loadSettings } from '../config/config.js';
import { SessionDbError } from '../model/errors.js';
import { serviceStats } from '../service/client.js';
import { divertedBy, isOurs, PACKAGE, REPLACEMENTS, trueName } from './dropin.js';
import { exposedBesidesLauncher } from './setgid-audit.js';
import { startagentStatus } from './startagent.js';

export async function status(prefix: string, configDir: string, socket: string): Promise<{ lines: string[]; code: number }> {
  const lines: string[] = [];
  let ours = 0;
  for (const r of REPLACEMENTS) {
    const owner = divertedBy(r.path);
    const mine = isOurs(r, prefix);
    if (mine) ours++;
    const diversion = owner === undefined ? 'not diverted' : `diverted by ${owner} to ${trueName(r.path)}`;
    lines.push(`${r.path}: ${mine ? PACKAGE : owner === PACKAGE ? 'missing' : 'the reference'} (${diversion})`);
  }
  const startagent = startagentStatus(prefix);
  lines.push(startagent.line);
  const mixed = ours !== 0 && ours !== REPLACEMENTS.length;
  lines.push(`implementation: ${ours === REPLACEMENTS.length ? PACKAGE : ours === 0 ? 'the reference (x2goserver)' : 'MIXED'}`);

  let reachable = false;
  try {
    const settings = loadSettings(configDir);
    const backend = await loadBackend(settings.backend.name);
    lines.push(`backend: ${settings.backend.name} (${backend.describe(settings.backend)})`);
    const store = await backend.openStore(settings, { uid: 0, name: 'root' });
    try {
      const servers = await store.servers();
      const version = store.schemaVersion ? await store.schemaVersion() : undefined;
      lines.push(`schema version: ${version ?? 'unknown'}`);
      lines.push(`database: reachable, ${servers.reduce((n, s) => n + s.sessions, 0)} session(s) on ${servers.length} server(s)`);
      reachable = true;
    } finally {
      await store.close();
    }
  } catch (err) {
    lines.push(`database: NOT reachable: ${err instanceof SessionDbError ? err.message : String(err)}`);
  }
  lines.push(await serviceLine(socket));
  // Last, where monitoring looks first.
  const exposed = exposedSetgid(prefix);
  lines.push(...exposed);
  return { lines, code: mixed || !startagent.ok || exposed.length > 0 || !reachable ? 1 : 0 };
}

/** One line per setgid x2gouser program a user could run, other than our launcher. */
function exposedSetgid(prefix: string): string[] {
  return exposedBesidesLauncher(prefix).map(
    (path) =>
      `UNSAFE: ${path} is setgid x2gouser and any user can run it (it is not our launcher); with that group a user writes the session database directly`,
  );
}

/** Not running is not an error: the launchers then run the commands themselves. */
async function serviceLine(socket: string): Promise<string> {
  try {
    const s = await serviceStats(socket);
    const mb = (s.rssBytes / 1024 / 1024).toFixed(1);
    return `service: up (pid ${s.pid}, ${s.backend}, uptime ${s.uptimeSeconds} s, ${s.requests} requests served, ${s.failed} failed of which ${s.unavailable} database unavailable, ${s.rejected} rejected, ${s.inFlight} in flight, RSS ${mb} MB) on ${socket}`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no socket' : code === 'ECONNREFUSED' ? 'nothing listens' : err instanceof Error ? err.message : String(err);
    return `service: not running (${why} at ${socket}); the launchers run each command themselves`;
  }
}
