// The systemd unit of the resident service, written by `x2go-sessiondb install` with the paths
// of that installation. contrib/x2gosessiond.service is the same unit for the default paths
// (a test keeps the two equal).

import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SERVICE_GROUP, SERVICE_USER, serviceAccount } from '../system/service-account.js';

export const UNIT_NAME = 'x2gosessiond.service';
export const UNIT_PATH = join('/etc/systemd/system', UNIT_NAME);
/** Where the reference keeps the SQLite file: x2gouser's home. */
const SQLITE_DIR = '/var/lib/x2go';

export interface UnitPaths {
  node: string;
  prefix: string;
  configDir: string;
  socket: string;
}

export function unitText(p: UnitPaths): string {
  const runtimeDir = dirname(p.socket);
  const runtime = runtimeDir.startsWith('/run/') ? runtimeDir.slice('/run/'.length) : undefined;
  return `# x2go-sessiondb's resident session service: answers the X2Go helpers' database calls
# in-process. Stopped or failed, the helpers run the database code themselves (slower).
# It runs as its own account, with the launcher's group and nothing of root's; the settings
# left open are named, with the reason, in the README ("Resident service", "Least privilege").
[Unit]
Description=X2Go session database service (x2go-sessiondb)
After=network-online.target postgresql.service
Wants=network-online.target

[Service]
Type=simple
ExecStart=${p.node} ${join(p.prefix, 'x2gosessiond.cjs')} --config ${p.configDir} --socket ${p.socket}
Restart=on-failure
RestartSec=1
# SIGTERM lets the requests in flight finish (at most 30 s).
TimeoutStopSec=45
User=${SERVICE_USER}
Group=${SERVICE_GROUP}
# -wal and -shm files it creates must be the group's (helpers open them without the service).
UMask=0007
${runtime ? `RuntimeDirectory=${runtime}\nRuntimeDirectoryMode=0751\n` : `ReadWritePaths=${runtimeDir}\n`}# The SQLite database (x2gouser's home, as in the reference); nothing else is written.
ReadWritePaths=-${SQLITE_DIR}
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
RestrictSUIDSGID=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictNamespaces=yes
RemoveIPC=yes
KeyringMode=private
DevicePolicy=closed
# UNIX: its socket; IP: PostgreSQL.
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @mount @debug @cpu-emulation @obsolete @raw-io @reboot @swap @module @clock
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
`;
}

/** systemd is the running init (sd_booted's test). */
function systemdRunning(): boolean {
  return existsSync('/run/systemd/system');
}

function systemctl(args: string[]): void {
  execFileSync('/usr/bin/systemctl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * The socket's directory, the service account's (systemd's RuntimeDirectory= makes it again at
 * every start; without systemd this one stays until reboot): the service does not run as root
 * and may not create it in /run itself.
 */
function prepareRuntimeDir(socket: string): void {
  const account = serviceAccount();
  if (!account) throw new Error(`no account ${SERVICE_USER}`);
  const dir = dirname(socket);
  mkdirSync(dir, { recursive: true, mode: 0o751 });
  chownSync(dir, account.uid, account.gid);
  chmodSync(dir, 0o751);
}

export const RUNAS_UNIT_NAME = 'x2gosessiond-runas.service';

/**
 * The root helper that runs x2goterminate-session and x2gosuspend-session as a session's user
 * for the service (src/runas/main.ts). Root, and what it runs must reach the user's files,
 * processes and the setgid launcher, so little of the sandbox above fits; what does is here.
 */
export function runasUnitText(p: UnitPaths): string {
  return `# x2go-sessiondb: the resident service's one privileged operation, apart from it: runs
# x2goterminate-session or x2gosuspend-session as a session's user, asked by x2gosessiond only.
[Unit]
Description=X2Go session database service, root helper (x2go-sessiondb)
Before=x2gosessiond.service

[Service]
Type=simple
ExecStart=${p.node} ${join(p.prefix, 'x2gosessiond-runas.cjs')} --config ${p.configDir}
Restart=on-failure
RestartSec=1
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
LockPersonality=yes
RestrictRealtime=yes
SystemCallArchitectures=native
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK

[Install]
WantedBy=multi-user.target
`;
}

const RUNAS_UNIT_PATH = join('/etc/systemd/system', RUNAS_UNIT_NAME);

export function installUnit(paths: UnitPaths): string[] {
  for (const [path, text] of [
    [UNIT_PATH, unitText(paths)],
    [RUNAS_UNIT_PATH, runasUnitText(paths)],
  ] as const) {
    writeFileSync(`${path}.new`, text, { mode: 0o644 });
    renameSync(`${path}.new`, path);
  }
  prepareRuntimeDir(paths.socket);
  const start = `setpriv --reuid=${SERVICE_USER} --regid=${SERVICE_GROUP} --clear-groups ${paths.node} ${join(paths.prefix, 'x2gosessiond.cjs')} --config ${paths.configDir} --socket ${paths.socket}`;
  const runas = `${paths.node} ${join(paths.prefix, 'x2gosessiond-runas.cjs')} --config ${paths.configDir}`;
  if (!systemdRunning()) {
    return [`wrote ${UNIT_PATH} and ${RUNAS_UNIT_PATH}; systemd is not running here: start them with ${runas} & ${start} &`];
  }
  systemctl(['daemon-reload']);
  systemctl(['enable', RUNAS_UNIT_NAME, UNIT_NAME]);
  // A new build must be the one answering.
  systemctl(['restart', RUNAS_UNIT_NAME, UNIT_NAME]);
  return [`wrote ${UNIT_PATH} and ${RUNAS_UNIT_PATH}, enabled and (re)started ${RUNAS_UNIT_NAME} and ${UNIT_NAME}`];
}

export function removeUnit(): string[] {
  if (!existsSync(UNIT_PATH) && !existsSync(RUNAS_UNIT_PATH)) return [];
  if (systemdRunning()) {
    try {
      systemctl(['disable', '--now', UNIT_NAME, RUNAS_UNIT_NAME]);
    } catch {
      // not loaded: nothing to stop
    }
  }
  rmSync(UNIT_PATH, { force: true });
  rmSync(RUNAS_UNIT_PATH, { force: true });
  if (!systemdRunning()) return [`removed ${UNIT_PATH} and ${RUNAS_UNIT_PATH}`];
  systemctl(['daemon-reload']);
  return [`stopped, disabled and removed ${UNIT_PATH} and ${RUNAS_UNIT_PATH}`];
}
