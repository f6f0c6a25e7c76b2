// A resident service that is watched (issue 13): its metrics and dashboard listener on a port
// the kernel picks (127.0.0.1:0, never the system's 9587) and its watch socket in a directory of
// the test's own, which every user may enter, as /run. Also: the metrics text parsed, and a
// watcher (x2go-sessiondb watch) run as a user, its lines collected as they come.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync } from 'node:fs';
import { makeAdminToken } from '../../src/service/observe/auth.js';
import { join } from 'node:path';
import type { Account } from '../../src/system/accounts.js';
import { DIST } from './sandbox.js';
import { serviceUser, startService, type RunningService } from './service.js';
import { scratchDir } from './scratch.js';

export interface WatchedService {
  service: RunningService;
  /** http://127.0.0.1:PORT */
  url: string;
  watchSocket: string;
}

/** In a directory of the service's account that every user may enter, as /run/x2go-sessiondb (0751). */
export function watchSocketPath(): string {
  const dir = scratchDir('x2godb-watch-');
  const account = serviceUser();
  chownSync(dir, account.uid, account.gid);
  chmodSync(dir, 0o751);
  return join(dir, 'watch.sock');
}

/** Starts x2gosessiond for `configDir` on `socket`, with its listener and watch socket. */
export async function startWatchedService(configDir: string, socket: string, extra: string[] = []): Promise<WatchedService> {
  const watchSocket = watchSocketPath();
  // The dashboard's admin token, as install makes it: the service's account cannot write /etc.
  const account = serviceUser();
  const token = join(configDir, 'x2gosql', 'sessiond-admin-token');
  if (!existsSync(token)) makeAdminToken(token, account.uid, account.gid);
  const service = await startService(configDir, socket, ['--metrics-listen', '127.0.0.1:0', '--watch-socket', watchSocket, ...extra]);
  const m = /metrics and dashboard on (http:\/\/[0-9.]+:\d+)\//.exec(service.log());
  if (!m?.[1]) throw new Error(`the service did not say where its listener is: ${service.log()}`);
  return { service, url: m[1], watchSocket };
}

/** One sample of the metrics text: name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] ?? ''] = pair[2] ?? '';
    samples.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of one sample (0 when absent). */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found?.value ?? 0;
}

export interface Watcher {
  child: ChildProcess;
  lines: string[];
  stderr(): string;
  /** Resolves once the service said the watcher is subscribed. */
  ready: Promise<void>;
  /** Resolves with the first line matching `pattern`, or rejects after `ms`. */
  waitFor(pattern: RegExp, ms: number): Promise<string>;
  stop(): Promise<number | null>;
}

/**
 * x2go-sessiondb watch (--json unless `json` is false) as `user` (root when undefined). Readiness is read from the
 * service's log-free protocol: the watcher prints nothing until subscribed, so the test waits
 * for the service to count the subscription (a short settle time after connecting).
 */
export function startWatcher(watchSocket: string, user: Account | undefined, args: string[] = [], json = true): Watcher {
  const argv = [join(DIST, 'x2go-sessiondb.cjs'), 'watch', ...(json ? ['--json'] : []), '--socket', watchSocket, ...args];
  const child = user
    ? spawn('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', process.execPath, ...argv], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { X2GO_WATCH_READY: '1' },
      })
    : spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { X2GO_WATCH_READY: '1' } });
  const lines: string[] = [];
  let stderr = '';
  let buffered = '';
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      for (const w of [...waiters]) if (w.pattern.test(line)) w.resolve(line);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.includes('watching')) markReady();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    stderr: () => stderr,
    ready,
    waitFor: (pattern, ms) =>
      new Promise((resolve, reject) => {
        const seen = lines.find((l) => pattern.test(l));
        if (seen) return resolve(seen);
        const timer = setTimeout(
          () => reject(new Error(`no line matching ${pattern} within ${ms} ms; got ${JSON.stringify(lines)} ${stderr}`)),
          ms,
        );
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      }),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
