// [sessiond] of x2goserver.conf, the keys this directory reads: where the metrics and dashboard
// listener is, and where the watch socket is. Read once at start (a new address needs a restart,
// as any listener's would); kept out of config/config.ts so that helper calls never parse them.

import { SessionDbError } from '../../model/errors.js';
import { readServerConf } from '../../config/sessiond.js';
import { adminTokenFile } from './auth.js';

/** Ours, not IANA's: a free port near the Prometheus exporters' range, documented in the README. */
export const DEFAULT_METRICS_PORT = 9587;
export const DEFAULT_METRICS_LISTEN = `127.0.0.1:${DEFAULT_METRICS_PORT}`;
/**
 * Beside the service's own socket, in its directory (0751: every user may reach a socket there
 * by name, only the group may list it), which the service's account may write: every user may watch.
 */
export const DEFAULT_WATCH_SOCKET = '/run/x2go-sessiondb/watch.sock';

export interface ObserveSettings {
  /** host and port of the HTTP listener (metrics, dashboard); undefined: off. */
  listen: { host: string; port: number } | undefined;
  /** Host names the dashboard answers to besides IP addresses, localhost and this host's name ([sessiond] dashboard_hosts=). */
  dashboardHosts: string[];
  /** The file holding the dashboard's admin token (root's, 0600), made at start when missing. */
  tokenFile: string;
}

export function parseListen(text: string, file: string): ObserveSettings['listen'] {
  if (text === '') return undefined;
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  // Port 0: the kernel picks one (tests; the log says which).
  if (!m || port < 0 || port > 65535) {
    throw new SessionDbError('config', `${file}: [sessiond] metrics_listen=${text} is not host:port (or empty, for off)`);
  }
  return { host: m[1] ?? m[2] ?? '', port };
}

export function readObserveSettings(configDir: string): ObserveSettings {
  const { file, ini } = readServerConf(configDir);
  const hosts = (ini.get('sessiond.dashboard_hosts') ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  return {
    listen: parseListen(ini.get('sessiond.metrics_listen') ?? DEFAULT_METRICS_LISTEN, file),
    dashboardHosts: hosts,
    tokenFile: adminTokenFile(configDir),
  };
}
