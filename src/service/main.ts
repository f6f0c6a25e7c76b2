// x2gosessiond: the resident session service (see server.ts). Run by systemd as its own system
// account _x2gosessiond, group x2gouser (src/install/service-unit.ts), not as root:
//   x2gosessiond [--config DIR] [--socket PATH] [--group NAME] [--hostname NAME] [--watch-socket PATH] [--metrics-listen HOST:PORT]
// SIGTERM (or SIGINT) stops accepting, lets requests in flight finish, then exits.

import { hostname } from 'node:os';
import { DEFAULT_CONFIG_DIR, loadSettings } from '../config/config.js';
import { loadSessiondSettings } from '../config/sessiond.js';
import { EXIT_CODES, SessionDbError } from '../model/errors.js';
import { parseServer } from '../model/validate.js';
import { lookupGroupId } from '../system/accounts.js';
import { SERVICE_USER } from '../system/service-account.js';
import { exitOnFailure } from '../app/failure.js';
import { writeAll } from '../cli/write-out.js';
import { FarmDuties } from './farm-duties.js';
import { inodeOf, listenOnSocket, removeSocket } from './listen.js';
import { loadPeerCredentials } from './peer.js';
import { DEFAULT_SOCKET } from './protocol.js';
import { stderrLogger } from './log.js';
import { SessionService } from './server.js';
import { startObservers } from './observe/observe.js';
import { DEFAULT_METRICS_LISTEN, DEFAULT_WATCH_SOCKET } from './observe/settings.js';

/** How often the service removes events older than [sessiond] history_days=. */
const HISTORY_PRUNE_INTERVAL_MS = 3_600_000;

const USAGE = `usage: x2gosessiond [--config DIR] [--socket PATH] [--group NAME] [--hostname NAME] [--watch-socket PATH] [--metrics-listen HOST:PORT]
  --config DIR     the X2Go configuration directory (default ${DEFAULT_CONFIG_DIR})
  --socket PATH    where to listen (default ${DEFAULT_SOCKET}); the launcher has its path compiled in
  --group NAME     the group that may connect (default x2gouser, the launcher's group)
  --hostname NAME  this node's server name in the farm (default: the host name, as x2gostartagent records it)
  --watch-socket PATH  where x2go-sessiondb watch connects (default ${DEFAULT_WATCH_SOCKET}; "" for none)
  --metrics-listen HOST:PORT  metrics and dashboard ("" for none); default: [sessiond] metrics_listen=
                   of x2goserver.conf, else ${DEFAULT_METRICS_LISTEN}
  --help           this text
`;

interface Options {
  configDir: string;
  socket: string;
  group: string;
  hostname: string;
  watchSocket: string;
  metricsListen: string | undefined;
}

function parse(argv: readonly string[]): Options | string {
  const options: Options = {
    configDir: DEFAULT_CONFIG_DIR,
    socket: DEFAULT_SOCKET,
    group: 'x2gouser',
    hostname: hostname(),
    watchSocket: DEFAULT_WATCH_SOCKET,
    metricsListen: undefined,
  };
  const keys: Record<string, keyof Options> = {
    '--config': 'configDir',
    '--socket': 'socket',
    '--group': 'group',
    '--hostname': 'hostname',
    '--watch-socket': 'watchSocket',
    '--metrics-listen': 'metricsListen',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] ?? '';
    const key = keys[flag];
    const value = argv[i + 1];
    if (!key) return flag === '--help' ? '' : `unknown option ${flag}`;
    const pathOk =
      value !== undefined &&
      (value.startsWith('/') ||
        key === 'group' ||
        key === 'hostname' ||
        key === 'metricsListen' ||
        (key === 'watchSocket' && value === ''));
    if (!pathOk) return `${flag} needs an absolute path`;
    options[key] = value;
    i++;
  }
  try {
    parseServer(options.hostname, '--hostname');
  } catch (err) {
    return err instanceof SessionDbError ? err.message : String(err);
  }
  return options;
}

async function main(argv: readonly string[]): Promise<number> {
  const options = parse(argv);
  if (typeof options === 'string') {
    writeAll(options ? 2 : 1, options ? `x2gosessiond: ${options}\n${USAGE}` : USAGE);
    return options ? 2 : 0;
  }
  // Files the service creates for the group (SQLite's -wal and -shm, which helper processes of
  // the x2gouser group open when the service is down) must be group-writable from creation: set
  // here once, for the whole process, before anything opens the database.
  process.umask(process.umask() & ~0o070);
  const gid = lookupGroupId(options.group);
  if (gid === undefined) {
    writeAll(2, `x2gosessiond: group ${options.group} does not exist\n`);
    return EXIT_CODES.config;
  }
  // It answers for every user as the setgid launcher would: it needs the launcher's group (the
  // socket's group, the SQLite file's), and nothing of root's.
  if (process.getuid?.() !== 0 && process.getegid?.() !== gid && !process.getgroups?.().includes(gid)) {
    writeAll(
      2,
      `x2gosessiond: must run with group ${options.group} (as ${SERVICE_USER}, whose group it is; see x2gosessiond.service) or as root\n`,
    );
    return EXIT_CODES.denied;
  }
  const settings = loadSettings(options.configDir);
  const sessiond = loadSessiondSettings(options.configDir);
  const log = stderrLogger(settings.logLevel);
  loadPeerCredentials();
  const service = new SessionService(settings, stderrLogger, options.hostname);
  await listenOnSocket(service.server, options.socket, gid);
  const inode = inodeOf(options.socket);
  await service.warm();
  const observers = await startObservers(
    service,
    {
      watchSocket: options.watchSocket || undefined,
      metricsListen: options.metricsListen,
      node: options.hostname,
      nodeTimeoutS: sessiond.nodeTimeoutS,
    },
    (level, message) => log.log(level, message),
  );
  if (observers.listening) log.log('notice', `metrics and dashboard on http://${observers.listening}/`);
  log.log(
    'notice',
    `listening on ${options.socket} (backend ${settings.backend.name}, configuration ${options.configDir}, node ${options.hostname})`,
  );
  // The heartbeat, dead-node cleanup and admin requests (farm-duties.ts): after the socket is
  // up, so that no caller waits for them.
  const duties = new FarmDuties(settings, sessiond, options.hostname, (level, message) => log.log(level, message));
  void duties
    .start()
    .catch((err: unknown) => log.log('err', `farm duties not started: ${err instanceof Error ? err.message : String(err)}`));
  // History retention: once at start, then hourly (a day's events go in one cycle).
  void service.pruneHistory();
  setInterval(() => void service.pruneHistory(), HISTORY_PRUNE_INTERVAL_MS).unref();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.log('notice', `${signal}: finishing the requests in flight`);
    // New callers fall back to running the command themselves from here on.
    removeSocket(options.socket, inode);
    Promise.all([duties.stop(), service.drain()])
      .then(() => observers.close())
      .then(
        () => {
          log.log('notice', `stopped after ${service.stats().requests} requests`);
          process.exit(0);
        },
        (err: unknown) => {
          log.log('err', `stopping failed: ${String(err)}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return -1;
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exit(code);
}, exitOnFailure('x2gosessiond'));
