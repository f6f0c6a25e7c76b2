// x2go-sessiondb: put x2go-sessiondb under an installed x2goserver, take it away, or say which
// is in use. Run as root from a built checkout (dist/).
//
//   x2go-sessiondb install   [--prefix DIR] [--config DIR] [--socket PATH] [--node PATH] [--force] [--no-divert]
//   x2go-sessiondb uninstall [--prefix DIR] [--socket PATH]
//   x2go-sessiondb status    [--prefix DIR] [--config DIR] [--socket PATH]
//   x2go-sessiondb refresh   [--prefix DIR]     (run by the dpkg hook after each dpkg run)

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_DIR } from '../config/config.js';
import {
  DB_PM,
  divert,
  divertedBy,
  ensureReferenceDir,
  installedVersion,
  KNOWN_UPSTREAM,
  PACKAGE,
  referenceDir,
  REFERENCE_PACKAGES,
  undivert,
  upstreamVersion,
} from './dropin.js';
import { installHook, removeHook } from './dpkg-hook.js';
import { removeStartagent, syncStartagent } from './startagent.js';
import { InstallError, installPrefix, prefixOf, removePrefix } from './install-launcher.js';
import { status } from './status.js';
import { installUnit, removeUnit, UNIT_NAME } from './service-unit.js';
import { DEFAULT_SOCKET } from '../service/protocol.js';
import { serviceStats } from '../service/client.js';
import { exitOnFailure } from '../app/failure.js';
import { writeAll } from '../cli/write-out.js';
import { watch } from '../cli/watch.js';
import { ensureAdminToken } from '../service/observe/auth.js';

const NAME = 'x2go-sessiondb';
const USAGE = `usage: ${NAME} install   [--prefix DIR] [--config DIR] [--socket PATH] [--node PATH] [--force] [--no-divert]
       ${NAME} uninstall [--prefix DIR] [--socket PATH]
       ${NAME} status    [--prefix DIR] [--config DIR] [--socket PATH]
       ${NAME} refresh   [--prefix DIR]
       ${NAME} watch     [--json] [--user NAME] [--server HOST] [--socket PATH]
       ${NAME} history   [--user U] [--server S] [--since T] [--json]

install    copies the programs to the prefix (default /usr/lib/x2go-sessiondb), builds the setgid
           launcher, diverts x2goserver's database programs and X2Go::Server::DB (dpkg-divert)
           into PREFIX/reference (root only) and puts ours in their place, puts a reserving
           x2gostartagent in place (contrib/x2gostartagent-reserve.patch applied to the
           reference's; left alone when it does not apply), writes the dpkg hook that keeps it
           in step with x2goserver, runs x2godbadmin --updatedb, and installs and starts the
           resident service x2gosessiond (systemd unit ${UNIT_NAME}). Idempotent.
           --socket: the service's socket (default ${DEFAULT_SOCKET}), compiled into the launcher;
           --force: divert an x2goserver version other than ${KNOWN_UPSTREAM.join(', ')};
           --no-divert: only the prefix and the launcher (no diversions, no service unit).
uninstall  stops the service, removes ours and the dpkg hook, reverts every diversion; the
           database stays.
status     which implementation each path runs, which x2gostartagent, any setgid x2gouser
           program users can run besides ours, the backend, the schema, the database, and the
           service (uptime, requests served, errors).
watch      prints session changes as they happen, one line each (any user: their own sessions;
           root: all); see ${NAME} watch --help.
refresh    after a package upgrade (the dpkg hook runs it): re-makes the reserving x2gostartagent
           from x2goserver's, or puts x2goserver's back when the patch no longer applies. Says
           nothing when nothing changed.
history    what happened to sessions (created, started, suspended, resumed, finished, purged,
           expired, cleaned, fixed), when, by whom (uid), on which node, oldest first. Users see
           their own sessions' events; root everyone's, or --user's. --server: one server's;
           --since: a time (2026-11-30, 2026-11-30T12:00:00Z) or an age (90m, 12h, 7d).
`;

/** The dist/ directory this program runs from: what install copies. */
function distDir(): string {
  return dirname(realpathSync(process.argv[1] ?? ''));
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new InstallError('must be run as root');
}

function checkVersions(force: boolean): string[] {
  const lines: string[] = [];
  for (const pkg of REFERENCE_PACKAGES) {
    const version = installedVersion(pkg);
    if (version === undefined) throw new InstallError(`${pkg} is not installed; nothing to put ourselves under (use --no-divert)`);
    const known = KNOWN_UPSTREAM.includes(upstreamVersion(version));
    if (!known && !force) {
      throw new InstallError(
        `${pkg} ${version} is not a version we know (${KNOWN_UPSTREAM.join(', ')}); check its DB programs, then use --force`,
      );
    }
    lines.push(`${pkg} ${version}${known ? '' : ' (unknown version, --force)'}`);
  }
  return lines;
}

function updatedb(prefix: string, configDir: string): string[] {
  const out = execFileSync(join(prefix, 'x2godbadmin.cjs'), ['--config', configDir, '--updatedb'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out
    .trimEnd()
    .split('\n')
    .map((line) => `x2godbadmin --updatedb: ${line}`);
}

/**
 * The prefix is removed with everything in it: it must hold no file of the reference's any
 * more (a diversion left behind would be deleted with it).
 */
function assertNothingDiverted(prefix: string): void {
  let left: string[];
  try {
    left = readdirSync(referenceDir(prefix), { recursive: true, withFileTypes: true })
      .filter((e) => !e.isDirectory())
      .map((e) => join(e.parentPath ?? e.path, e.name));
  } catch {
    return;
  }
  if (left.length) throw new Error(`${referenceDir(prefix)} still holds ${left.join(', ')}; not removing ${prefix}`);
}

/** A service started by hand (no systemd) would outlive its programs: stop it. */
async function stopService(socket: string): Promise<string[]> {
  let pid: number;
  try {
    pid = (await serviceStats(socket)).pid;
  } catch {
    return [];
  }
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; waited < 45_000; waited += 100) {
    if (!running(pid)) return [`stopped x2gosessiond (pid ${pid})`];
    await new Promise((r) => setTimeout(r, 100));
  }
  return [`x2gosessiond (pid ${pid}) did not stop within 45 s`];
}

/**
 * Whether a process still runs. One that exited stays a zombie until its parent reaps it (a
 * shell or supervisor that started the service by hand may be busy), so its state counts too.
 */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * history is for every user, not only root: it runs `x2godb history` through the setgid
 * launcher beside this program (installed), or x2godb.cjs (a checkout), so that the kernel says
 * who asks and the database answers only with what they may read. x2godb validates the options.
 */
function history(args: string[]): { lines: string[]; code: number } {
  const json = args.filter((a) => a === '--json').length > 0;
  const rest = args.filter((a) => a !== '--json');
  const launcher = join(distDir(), 'x2godb-launcher');
  const [file, argv] = existsSync(launcher) ? [launcher, []] : [process.execPath, [join(distDir(), 'x2godb.cjs')]];
  const r = spawnSync(file, [...argv, ...(json ? ['--json'] : []), 'history', ...rest], { stdio: 'inherit' });
  if (r.error) throw r.error;
  return { lines: [], code: r.status ?? 1 };
}

async function run(argv: string[]): Promise<{ lines: string[]; code: number }> {
  const [command, ...rest] = argv;
  // For every user, with options of its own (src/cli/watch.ts).
  if (command === 'watch') return { lines: [], code: await watch(rest) };
  if (command === 'history') return history(rest);
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      prefix: { type: 'string' },
      config: { type: 'string' },
      node: { type: 'string' },
      socket: { type: 'string' },
      force: { type: 'boolean' },
      'no-divert': { type: 'boolean' },
    },
  });
  const configDir = values.config ?? DEFAULT_CONFIG_DIR;
  const socket = values.socket ?? DEFAULT_SOCKET;
  switch (command) {
    case 'install': {
      requireRoot();
      const divertToo = !values['no-divert'];
      const lines = divertToo ? checkVersions(values.force ?? false) : [];
      lines.push(...installPrefix({ prefix: values.prefix, configDir, node: values.node, socket }, distDir()));
      if (divertToo) {
        const prefix = prefixOf(values);
        lines.push(...divert(prefix, readFileSync(join(distDir(), 'DB.pm'), 'utf8')));
        lines.push(...syncStartagent(prefix, false));
        const node = realpathSync(values.node ?? process.execPath);
        lines.push(...installHook(node, prefix));
        lines.push(...updatedb(prefix, configDir));
        // The dashboard's admin token: made here, as the unit's ProtectSystem=full keeps /etc
        // read-only for the service.
        lines.push(...ensureAdminToken(configDir));
        lines.push(...installUnit({ node, prefix, configDir, socket }));
      }
      return { lines, code: 0 };
    }
    case 'uninstall': {
      requireRoot();
      const prefix = prefixOf(values);
      const lines = [...removeHook(), ...removeUnit(), ...(await stopService(socket))];
      lines.push(...removeStartagent(prefix), ...undivert(prefix));
      assertNothingDiverted(prefix);
      return { lines: [...lines, ...removePrefix(values)], code: 0 };
    }
    case 'refresh': {
      requireRoot();
      const prefix = prefixOf(values);
      // Only an installation with its diversions in place is kept up to date.
      if (divertedBy(DB_PM) !== PACKAGE) return { lines: [], code: 0 };
      const lines = [...ensureReferenceDir(prefix), ...syncStartagent(prefix, true)];
      return { lines: lines.map((l) => `${NAME} refresh: ${l}`), code: 0 };
    }
    case 'status':
      return status(prefixOf(values), configDir, socket);
    case undefined:
    case '--help':
    case 'help':
      return { lines: [USAGE.trimEnd()], code: command === undefined ? 2 : 0 };
    default:
      throw new InstallError(`unknown command ${command}; see ${NAME} --help`);
  }
}

run(process.argv.slice(2)).then(
  ({ lines, code }) => {
    writeAll(1, lines.map((l) => `${l}\n`).join(''));
    process.exit(code);
  },
  exitOnFailure(NAME, (err) => err instanceof InstallError),
);
