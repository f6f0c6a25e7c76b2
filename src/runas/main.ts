// x2gosessiond-runas: the one thing of x2go-sessiondb's service that needs root, kept apart from
// it and small enough to review whole. The resident service runs as _x2gosessiond; to end or
// suspend a session it asks this helper, which runs as root (its own systemd unit) and then:
//
// - accepts connections only from the service's account, as the kernel says (SO_PEERCRED); its
//   socket is that account's, mode 0600, in a directory only root writes;
// - reads one line of at most 1 KiB: {"program": ..., "session": ...}, within 5 s;
// - runs only x2goterminate-session or x2gosuspend-session, from x2goserver's directory;
// - only for a session id in the x2gosid format that root's listing of this server holds, not
//   finished, stored under the user the id names, who is an existing account other than root;
// - as that user (runuser: their uid, groups and a fresh environment), with the session id as
//   the one argument, for at most 60 s; and answers the exit code and the last stderr line.
//
//   x2gosessiond-runas [--config DIR] [--socket PATH] [--programs DIR] [--service-user NAME]

import { spawn } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { DEFAULT_CONFIG_DIR } from '../config/config.js';
import { dispatch } from '../app/dispatch.js';
import { exitOnFailure } from '../app/failure.js';
import { writeAll } from '../cli/write-out.js';
import { sessionIdUser } from '../model/ownership.js';
import { parseSessionId } from '../model/validate.js';
import { loadPeerCredentials, peerOf } from '../service/peer.js';
import { lookupUser } from '../system/accounts.js';
import { SERVICE_USER } from '../system/service-account.js';
import { DEFAULT_RUNAS_SOCKET, isRunAsProgram, MAX_RUNAS_REQUEST, type RunAsAnswer } from './protocol.js';

const NAME = 'x2gosessiond-runas';
const USAGE = `usage: ${NAME} [--config DIR] [--socket PATH] [--programs DIR] [--service-user NAME] [--hostname NAME]
  --config DIR         the X2Go configuration directory (default ${DEFAULT_CONFIG_DIR})
  --socket PATH        where to listen (default ${DEFAULT_RUNAS_SOCKET})
  --programs DIR       where x2goterminate-session and x2gosuspend-session are (default /usr/bin)
  --service-user NAME  the only account that may connect (default ${SERVICE_USER})
  --hostname NAME      this node's server name, as x2gosessiond --hostname (default the host name)
`;
const RUN_TIMEOUT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 5_000;

interface Options {
  config: string;
  socket: string;
  programs: string;
  'service-user': string;
  hostname: string;
}

function parse(argv: readonly string[]): Options | string {
  const options: Options = {
    config: DEFAULT_CONFIG_DIR,
    socket: DEFAULT_RUNAS_SOCKET,
    programs: '/usr/bin',
    'service-user': SERVICE_USER,
    hostname: hostname(),
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '') as keyof Options;
    const value = argv[i + 1];
    if (argv[i] === '--help') return '';
    if (!argv[i]?.startsWith('--') || !(key in options) || value === undefined) return `unknown option or missing value: ${argv[i]}`;
    if (key !== 'service-user' && key !== 'hostname' && !value.startsWith('/')) return `--${key} needs an absolute path`;
    options[key] = value;
  }
  return options;
}

const log = (priority: number, line: string) => writeAll(2, `<${priority}>${NAME}: ${line.replace(/[^\x20-\x7e]/g, '?')}\n`);

/** The session's user if this request may run, or why not (exit code 2 bad input, 3 denied). */
async function authorize(request: unknown, options: Options): Promise<{ user: string; program: string; session: string } | RunAsAnswer> {
  const deny = (exitCode: number, why: string): RunAsAnswer => ({ exitCode, stderr: `${NAME}: ${why}` });
  if (typeof request !== 'object' || request === null) return deny(2, 'the request is not a JSON object');
  const { program, session } = request as Record<string, unknown>;
  if (!isRunAsProgram(program)) return deny(2, 'the program must be x2goterminate-session or x2gosuspend-session');
  if (typeof session !== 'string') return deny(2, 'no session id');
  try {
    parseSessionId(session);
  } catch {
    return deny(2, 'the session id is not in the x2gosid format');
  }
  // Root's listing of this server: every session, rows that fail validation left out.
  const server = options.hostname;
  const listed = await dispatch({
    caller: { uid: 0, name: 'root' },
    program: 'x2godb',
    args: ['--json', 'listsessionsroot', server],
    configDir: options.config,
    mayChooseConfig: true,
  });
  if (listed.exitCode !== 0) return deny(4, `cannot read the session database: ${listed.stderr.trim()}`);
  const rows = JSON.parse(listed.stdout) as { sessionId: string; uname: string; server: string; status: string }[];
  const row = rows.find((r) => r.sessionId === session && r.server === server);
  if (!row) return deny(3, `no session ${session} on ${server}`);
  if (row.status === 'F') return deny(3, `session ${session} has finished`);
  const account = lookupUser(row.uname);
  if (row.uname !== sessionIdUser(session) || !account || account.uid === 0) return deny(3, `session ${session} is not an ordinary user's`);
  return { user: account.name, program: join(options.programs, program), session };
}

/** runuser: the user's uid, gid and groups, a login's clean environment; no shell in between. */
function runAs(user: string, program: string, session: string): Promise<RunAsAnswer> {
  return new Promise((resolve) => {
    const child = spawn('/usr/sbin/runuser', ['-u', user, '--', program, session], {
      cwd: '/',
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: RUN_TIMEOUT_MS,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4096);
    });
    child.on('error', (err) => resolve({ exitCode: 4, stderr: `${NAME}: cannot run ${program}: ${err.message}` }));
    child.on('close', (code, signal) => {
      const last = stderr.trimEnd().split('\n').pop() ?? '';
      resolve({ exitCode: code ?? 4, stderr: signal ? `${NAME}: ${program} ended by ${signal}` : last });
    });
  });
}

function serve(socket: Socket, options: Options, serviceUid: number): void {
  const answer = (a: RunAsAnswer) => socket.end(`${JSON.stringify(a)}\n`);
  let peer: { uid: number; pid: number };
  try {
    peer = peerOf(socket);
  } catch {
    socket.destroy();
    return;
  }
  if (peer.uid !== serviceUid) {
    log(4, `refused a connection from uid ${peer.uid} (pid ${peer.pid}): only ${options['service-user']} may ask`);
    answer({ exitCode: 3, stderr: `${NAME}: only ${options['service-user']} may ask` });
    return;
  }
  let line = '';
  const timer = setTimeout(() => socket.destroy(), REQUEST_TIMEOUT_MS);
  socket.setEncoding('utf8');
  socket.on('error', () => clearTimeout(timer));
  socket.on('data', (chunk: string) => {
    if (line.includes('\n')) return;
    line += chunk;
    if (Buffer.byteLength(line) > MAX_RUNAS_REQUEST) {
      clearTimeout(timer);
      answer({ exitCode: 2, stderr: `${NAME}: request longer than ${MAX_RUNAS_REQUEST} bytes` });
      line = '\n';
      return;
    }
    if (!line.includes('\n')) return;
    clearTimeout(timer);
    let request: unknown;
    try {
      request = JSON.parse(line.slice(0, line.indexOf('\n')));
    } catch {
      request = undefined;
    }
    void authorize(request, options).then(async (decision) => {
      if (!('user' in decision)) {
        log(4, `refused: ${decision.stderr}`);
        answer(decision);
        return;
      }
      const result = await runAs(decision.user, decision.program, decision.session);
      log(5, `ran ${decision.program} ${decision.session} as ${decision.user}: exit ${result.exitCode}`);
      answer(result);
    });
  });
}

/** Root's directory; the socket, under a temporary name until it has its owner and mode. */
async function listen(options: Options, serviceUid: number, serviceGid: number, handler: (s: Socket) => void): Promise<void> {
  const dir = dirname(options.socket);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0)
    throw new Error(`${dir} must be root's directory, writable by root alone`);
  const pending = `${options.socket}.${process.pid}`;
  rmSync(pending, { force: true });
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(pending, resolve);
  });
  chownSync(pending, serviceUid, serviceGid);
  chmodSync(pending, 0o600);
  renameSync(pending, options.socket);
  const stop = () => {
    rmSync(options.socket, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function main(argv: readonly string[]): Promise<number> {
  const options = parse(argv);
  if (typeof options === 'string') {
    writeAll(options ? 2 : 1, options ? `${NAME}: ${options}\n${USAGE}` : USAGE);
    return options ? 2 : 0;
  }
  if (process.getuid?.() !== 0) {
    writeAll(2, `${NAME}: must run as root (it runs programs as other users)\n`);
    return 3;
  }
  const service = lookupUser(options['service-user']);
  if (!service || service.uid === 0) {
    writeAll(2, `${NAME}: no service account ${options['service-user']} (x2go-sessiondb install creates it)\n`);
    return 4;
  }
  loadPeerCredentials();
  await listen(options, service.uid, service.gid, (s) => serve(s, options, service.uid));
  log(5, `listening on ${options.socket} for ${options['service-user']} (uid ${service.uid})`);
  return -1;
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exit(code);
}, exitOnFailure(NAME));
