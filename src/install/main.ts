// x2go-sessiondb: put x2go-sessiondb under an installed x2goserver, take it away, or say which
// is in use. Run as root from a built checkout (dist/).
//
//   x2go-sessiondb install   [--prefix DIR] [--config DIR] [--socket PATH] [--node PATH] [--force] [--no-divert]
//   x2go-sessiondb install   --from-package [--force]   (the .deb's postinst)
//   x2go-sessiondb uninstall [--prefix DIR] [--socket PATH] [--from-package]  (the .deb's prerm)
//   x2go-sessiondb status    [--prefix DIR] [--config DIR] [--socket PATH]
//   x2go-sessiondb refresh   [--prefix DIR]     (run by the dpkg hook, or the package's trigger)
//   x2go-sessiondb stop      [--socket PATH]    (a service started by hand; the .deb's prerm)
//   x2go-sessiondb doctor    [--fix] [--json] [--config DIR] [--prefix DIR] [--server NAME] [--x-root DIR] [--only C,..] [--skip C,..]
// and the farm commands of src/farm/commands.ts (sessions, terminate, nodes, drain, place ...).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
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
import { InstallError, installPrefix, prefixOf, removePrefix, trainCodeCache } from './install-launcher.js';
import { CODE_CACHE } from '../cli/code-cache.js';
import { status } from './status.js';
import { checkNames, doctor } from '../doctor/run.js';
import { installUnit, removeUnit, UNIT_NAME, UNIT_PATH } from './service-unit.js';
import { ensureAdminToken, ensureServiceAccount } from './service-account.js';
import { DEFAULT_SOCKET } from '../service/protocol.js';
import { serviceStats } from '../service/client.js';
import { exitOnFailure } from '../app/failure.js';
import { writeAll } from '../cli/write-out.js';
import { FARM_USAGE, isFarmCommand, runFarmCommand } from '../farm/commands.js';
import { watch } from '../cli/watch.js';

const NAME = 'x2go-sessiondb';
const USAGE = `usage: ${NAME} install   [--prefix DIR] [--config DIR] [--socket PATH] [--node PATH] [--force] [--no-divert]
       ${NAME} install   --from-package [--force]
       ${NAME} uninstall [--prefix DIR] [--socket PATH] [--from-package]
       ${NAME} status    [--prefix DIR] [--config DIR] [--socket PATH]
       ${NAME} refresh   [--prefix DIR]
       ${NAME} stop      [--socket PATH]
       ${NAME} watch     [--json] [--user NAME] [--server HOST] [--socket PATH]
       ${NAME} history   [--user U] [--server S] [--since T] [--json]
       ${NAME} doctor    [--fix] [--json] [--config DIR] [--prefix DIR] [--server NAME] [--x-root DIR] [--only C,..] [--skip C,..]
${FARM_USAGE}
       ${NAME} --help

install    copies the programs to the prefix (default /usr/lib/x2go-sessiondb), builds the setgid
           launcher, diverts x2goserver's database programs and X2Go::Server::DB (dpkg-divert)
           into PREFIX/reference (root only) and puts ours in their place, puts a reserving
           x2gostartagent in place (contrib/x2gostartagent-reserve.patch applied to the
           reference's; left alone when it does not apply), writes the dpkg hook that keeps it
           in step with x2goserver, creates the service's system account _x2gosessiond (group
           x2gouser), runs x2godbadmin --updatedb, and installs and starts the resident service
           x2gosessiond as that account (systemd unit ${UNIT_NAME}). Idempotent.
           --socket: the service's socket (default ${DEFAULT_SOCKET}), compiled into the launcher;
           --force: divert an x2goserver version other than ${KNOWN_UPSTREAM.join(', ')};
           --no-divert: only the prefix and the launcher (no diversions, no service unit).
           --from-package: what the Debian package's postinst runs: the programs, the launcher
           and the unit are the package's files; trains the code cache, diverts, puts the
           reserving x2gostartagent in place and runs x2godbadmin --updatedb (no dpkg hook: the package's
           trigger runs refresh).
uninstall  stops the service, removes ours and the dpkg hook, reverts every diversion; the
           database stays. --from-package: the package's prerm (dpkg removes the files).
status     which implementation each path runs, which x2gostartagent, any setgid x2gouser
           program users can run besides ours, the backend, the schema, the database, and the
           service (uptime, requests served, errors).
sessions   every session of the farm (PostgreSQL) or of this server (SQLite); --json for scripts.
terminate, suspend  runs x2goterminate-session / x2gosuspend-session as the session's user: here
           directly, on another node through that node's x2gosessiond (admin request).
nodes      the node registry: state (active, draining, down), weight, capacity, load.
drain      a draining node takes no new session and keeps and resumes its own; undrain ends it.
place      the server for a user's next login, with the reason (--explain: every candidate).
watch      prints session changes as they happen, one line each (any user: their own sessions;
           root: all); see ${NAME} watch --help.
refresh    after a package upgrade (the dpkg hook runs it): re-makes the reserving x2gostartagent
           from x2goserver's, or puts x2goserver's back when the patch no longer applies. Says
           nothing when nothing changed.
history    what happened to sessions (created, started, suspended, resumed, finished, purged,
           expired, cleaned, fixed), when, by whom (uid), on which node, oldest first. Users see
           their own sessions' events; root everyone's, or --user's. --server: one server's;
           --since: a time (2026-11-30, 2026-11-30T12:00:00Z) or an age (90m, 12h, 7d).
doctor     checks the session database against this host and the farm: sessions whose agent is
           gone, sessions of down nodes, ports and mounts without a session, finished rows older
           than [sessiond] purge_age, displays without an X server and X servers the database
           does not know, the schema, the backend's set-up (the service role's memberships,
           password files, the database file's modes), setgid x2gouser programs not ours. Each
           with a count and the rows named. --fix repairs what is safe (never a session whose
           agent runs), one line each, recorded in the history. Exit 0 when clean, 1 otherwise.
           --server: this node's name in the database (default the host name); --x-root: where
           X servers keep their lock files and .X11-unix (default /tmp); --only, --skip: run
           only these checks, or all but these (agents, down-nodes, drained, orphan-ports, orphan-mounts,
           old-finished, displays, schema, setup, setgid).
stop       stops a service started by hand (without systemd), as uninstall does.

Exit codes: 0 done; 1 failed (status: something is wrong, one line says what); 2 usage error.
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

/**
 * The package's postinst: its files are in place (this program runs from them), the launcher's
 * mode is a dpkg-statoverride, the unit is /lib/systemd/system's and deb-systemd-helper starts
 * it. What is left is what install does beyond copying: the diversions (owned by package
 * x2go-sessiondb, as install has always made them), the reserving x2gostartagent, the code
 * cache of this machine's node, and --updatedb. What an earlier `install` from a checkout
 * wrote that the package replaces (the dpkg hook, the unit in /etc) is removed.
 */
function installFromPackage(force: boolean, configDir: string, socket: string): string[] {
  const prefix = distDir();
  const node = realpathSync(process.execPath);
  const lines = checkVersions(force);
  lines.push(trainCodeCache(prefix, node, configDir));
  lines.push(...divert(prefix, readFileSync(join(prefix, 'DB.pm'), 'utf8')));
  lines.push(...syncStartagent(prefix, false));
  lines.push(...removeHook());
  // Before --updatedb, which gives the service's PostgreSQL password file to its account.
  lines.push(...ensureServiceAccount());
  // A unit that `install` from a checkout wrote in /etc would hide the package's.
  if (existsSync(UNIT_PATH)) lines.push(...removeUnit());
  lines.push(...updatedb(prefix, configDir));
  lines.push(...ensureAdminToken(configDir));
  if (!existsSync('/run/systemd/system')) {
    lines.push(
      `systemd is not running here: start the service with ${node} ${join(prefix, 'x2gosessiond.cjs')} --config ${configDir} --socket ${socket} &`,
    );
  }
  return lines;
}

/** The package's prerm on remove: everything installFromPackage made; dpkg removes its own files. */
async function uninstallFromPackage(socket: string): Promise<string[]> {
  const prefix = distDir();
  const lines = [...removeHook(), ...(await stopService(socket)), ...removeStartagent(prefix), ...undivert(prefix)];
  assertNothingDiverted(prefix);
  rmSync(referenceDir(prefix), { recursive: true, force: true });
  rmSync(join(prefix, CODE_CACHE), { force: true });
  return lines;
}

async function run(argv: string[]): Promise<{ lines: string[]; errors?: string[]; code: number }> {
  const [command, ...rest] = argv;
  // For every user, with options of its own (src/cli/watch.ts).
  if (command === 'watch') return { lines: [], code: await watch(rest) };
  if (command === 'history') return history(rest);
  if (isFarmCommand(command)) return runFarmCommand(command, rest);
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
      fix: { type: 'boolean' },
      json: { type: 'boolean' },
      server: { type: 'string' },
      'x-root': { type: 'string' },
      only: { type: 'string' },
      skip: { type: 'string' },
      'from-package': { type: 'boolean' },
    },
  });
  const configDir = values.config ?? DEFAULT_CONFIG_DIR;
  const socket = values.socket ?? DEFAULT_SOCKET;
  const fromPackage = values['from-package'] ?? false;
  if (fromPackage && (values.prefix !== undefined || values.node !== undefined || values['no-divert'])) {
    throw new InstallError('--from-package takes no --prefix, --node or --no-divert: the package decided them');
  }
  switch (command) {
    case 'install': {
      requireRoot();
      if (fromPackage) {
        if (values.config !== undefined || values.socket !== undefined) {
          throw new InstallError('install --from-package takes no --config or --socket: the packaged launcher has its own compiled in');
        }
        return { lines: installFromPackage(values.force ?? false, configDir, socket), code: 0 };
      }
      const divertToo = !values['no-divert'];
      const lines = divertToo ? checkVersions(values.force ?? false) : [];
      lines.push(...installPrefix({ prefix: values.prefix, configDir, node: values.node, socket }, distDir()));
      if (divertToo) {
        const prefix = prefixOf(values);
        lines.push(...divert(prefix, readFileSync(join(distDir(), 'DB.pm'), 'utf8')));
        lines.push(...syncStartagent(prefix, false));
        const node = realpathSync(values.node ?? process.execPath);
        lines.push(...installHook(node, prefix));
        // Before --updatedb, which gives the service's PostgreSQL password file to its account.
        lines.push(...ensureServiceAccount());
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
      if (fromPackage) return { lines: await uninstallFromPackage(socket), code: 0 };
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
    case 'doctor': {
      requireRoot();
      const xRoot = values['x-root'];
      return doctor({
        configDir,
        prefix: prefixOf(values),
        fix: values.fix ?? false,
        json: values.json ?? false,
        server: values.server,
        x: xRoot === undefined ? undefined : { socketDir: join(xRoot, '.X11-unix'), lockDir: xRoot },
        only: checkNames(values.only),
        skip: checkNames(values.skip),
      });
    }
    case 'stop':
      requireRoot();
      return { lines: await stopService(socket), code: 0 };
    case undefined:
    case '--help':
    case 'help':
      return { lines: [USAGE.trimEnd()], code: command === undefined ? 2 : 0 };
    default:
      throw new InstallError(`unknown command ${command}; see ${NAME} --help`);
  }
}

run(process.argv.slice(2)).then(
  ({ lines, errors, code }) => {
    writeAll(1, lines.map((l) => `${l}\n`).join(''));
    if (errors?.length) writeAll(2, errors.map((l) => `${NAME}: ${l}\n`).join(''));
    process.exit(code);
  },
  exitOnFailure(NAME, (err) => err instanceof InstallError),
);
