// The systemd unit of the resident service, written by `x2go-sessiondb install` with the paths
// of that installation. contrib/x2gosessiond.service is the same unit for the default paths
// (a test keeps the two equal).

import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const UNIT_NAME = 'x2gosessiond.service';
export const UNIT_PATH = join('/etc/systemd/system', UNIT_NAME);

export interface UnitPaths {
  node: string;
  prefix: string;
  configDir: string;
  socket: string;
}

export function unitText(p: UnitPaths): string {
  return `# x2go-sessiondb's resident session service: answers the X2Go helpers' database calls
# in-process. Stopped or failed, the helpers run the database code themselves (slower).
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
NoNewPrivileges=yes
ProtectSystem=full
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6

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

export function installUnit(paths: UnitPaths): string[] {
  const pending = `${UNIT_PATH}.new`;
  writeFileSync(pending, unitText(paths), { mode: 0o644 });
  renameSync(pending, UNIT_PATH);
  const start = `${paths.node} ${join(paths.prefix, 'x2gosessiond.cjs')} --config ${paths.configDir} --socket ${paths.socket}`;
  if (!systemdRunning()) {
    return [`wrote ${UNIT_PATH}; systemd is not running here: start the service with ${start} &`];
  }
  systemctl(['daemon-reload']);
  systemctl(['enable', UNIT_NAME]);
  // A new build must be the one answering.
  systemctl(['restart', UNIT_NAME]);
  return [`wrote ${UNIT_PATH}, enabled and (re)started ${UNIT_NAME}`];
}

export function removeUnit(): string[] {
  if (!existsSync(UNIT_PATH)) return [];
  if (systemdRunning()) {
    try {
      systemctl(['disable', '--now', UNIT_NAME]);
    } catch {
      // not loaded: nothing to stop
    }
  }
  rmSync(UNIT_PATH, { force: true });
  if (!systemdRunning()) return [`removed ${UNIT_PATH}`];
  systemctl(['daemon-reload']);
  return [`stopped, disabled and removed ${UNIT_PATH}`];
}
