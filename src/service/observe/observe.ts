// Seeing the farm from x2gosessiond (issue 13): the metrics and dashboard listener, the watch
// socket, and what both read (the backend's FarmMonitor, the change feed). Started by main.ts
// after the service's own socket; nothing here is on a helper call's path, and prom-client is
// loaded only by the service.

import { farmActions } from './actions.js';
import { openMonitor } from '../../backends/monitor.js';
import type { FarmMonitor } from '../../model/monitor.js';
import type { LogSink } from '../dispatch-host.js';
import type { SessionService } from '../server.js';
import { ChangeFeed } from './feed.js';
import { Dashboard } from './http.js';
import { ServiceMetrics } from './metrics.js';
import { parseListen, readObserveSettings } from './settings.js';
import { WatchSocket } from './watch-socket.js';

export interface Observers {
  /** Where the HTTP listener listens, or undefined when metrics_listen= is empty. */
  listening: string | undefined;
  close(): Promise<void>;
}

export interface ObserverOptions {
  watchSocket: string | undefined;
  /** Overrides [sessiond] metrics_listen= ("" for none). */
  metricsListen: string | undefined;
  /** This node's server name and the farm's node timeout: where the dashboard's actions run. */
  node: string;
  nodeTimeoutS: number;
}

/**
 * Starts what is configured. A listener that cannot be set up (its port taken, its directory
 * unsafe) is logged and left out: answering the helpers matters more than being watched.
 */
export async function startObservers(service: SessionService, options: ObserverOptions, log: LogSink): Promise<Observers> {
  const settings = service.currentSettings();
  const observe = readObserveSettings(settings.configDir);
  if (options.metricsListen !== undefined) observe.listen = parseListen(options.metricsListen, '--metrics-listen');
  // One monitor for the service's life, opened on first use and again after a failed open.
  let opening: Promise<FarmMonitor> | undefined;
  const monitor = (): Promise<FarmMonitor> => {
    if (opening) return opening;
    const attempt = openMonitor(settings).catch((err: unknown) => {
      if (opening === attempt) opening = undefined;
      throw err;
    });
    opening = attempt;
    return attempt;
  };
  const feed = new ChangeFeed(monitor, log);
  const metrics = new ServiceMetrics(monitor, () => service.stats().inFlight);
  service.observer = metrics;
  const watch = new WatchSocket(feed, monitor, log);
  const failed = (what: string) => (err: unknown) => log('err', `${what}: ${err instanceof Error ? err.message : String(err)}`);
  if (options.watchSocket) await watch.listen(options.watchSocket).catch(failed(`cannot listen on ${options.watchSocket}`));
  let dashboard: Dashboard | undefined;
  let listening: string | undefined;
  if (observe.listen) {
    dashboard = new Dashboard({
      settings: observe,
      metrics,
      monitor,
      feed,
      act: farmActions(settings, options.node, options.nodeTimeoutS),
      node: options.node,
      backend: settings.backend.name,
      log,
    });
    const address = `${observe.listen.host}:${observe.listen.port}`;
    listening = await dashboard.listen().catch((err: unknown) => {
      failed(`metrics and dashboard: cannot listen on ${address}`)(err);
      return undefined;
    });
  }
  return {
    listening,
    close: async () => {
      watch.close();
      dashboard?.close();
      await feed.close();
      await opening?.then((m) => m.close()).catch(() => undefined);
    },
  };
}
