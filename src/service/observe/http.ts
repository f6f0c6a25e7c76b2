// The HTTP listener of x2gosessiond ([sessiond] metrics_listen=, default 127.0.0.1:9587):
//   /metrics              Prometheus text format (no user names in it; open, like any exporter)
//   /                     the dashboard's page, script and style sheet (served from memory)
//   /api/overview         nodes and the plots' series (aggregates and host names only; open)
//   /api/sessions         a page of sessions, filtered and sorted in the database (admin)
//   /api/events           Server-Sent Events: each session change as it happens (admin)
//   /api/login, logout, me, actions   the admin's browser session and actions (see auth.ts)
// Every user of an X2Go server can reach 127.0.0.1, so what names users (sessions, events) is
// the admin's only, and the Host header must name this machine (no DNS rebinding).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import type { FarmMonitor, SessionQuery } from '../../model/monitor.js';
import { SESSION_SORT_KEYS } from '../../model/monitor.js';
import type { SessionEvent } from '../../model/history.js';
import type { LogSink } from '../dispatch-host.js';
import { isAction, type RunAction } from './actions.js';
import { AdminAuth, COOKIE } from './auth.js';
import type { ChangeFeed } from './feed.js';
import type { ServiceMetrics } from './metrics.js';
import type { ObserveSettings } from './settings.js';

const PAGE_SIZE_MAX = 500;
/** Statuses sampled for the plot, every SAMPLE_MS, kept for KEEP_SAMPLES. */
const SAMPLE_MS = 30_000;
const KEEP_SAMPLES = (6 * 3600_000) / SAMPLE_MS;
const HISTORY_MINUTES = 6 * 60;
const MAX_BODY = 4096;
const SSE_PING_MS = 15_000;
const FAILED_LOGIN_DELAY_MS = 1000;

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

export interface DashboardOptions {
  settings: ObserveSettings;
  metrics: ServiceMetrics;
  monitor: () => Promise<FarmMonitor>;
  feed: ChangeFeed;
  act: RunAction;
  /** This node's server name (--hostname), shown on the page. */
  node: string;
  backend: string;
  log: LogSink;
}

interface Assets {
  html: string;
  js: string;
  css: string;
}

let parsed: Assets | undefined;

function assets(): Assets {
  parsed ??=
    typeof __X2GO_WEB_ASSETS__ === 'undefined' || !__X2GO_WEB_ASSETS__
      ? { html: '<!doctype html><title>x2gosessiond</title><p>The dashboard is not built (run scripts/build.mjs).', js: '', css: '' }
      : (JSON.parse(__X2GO_WEB_ASSETS__) as Assets);
  return parsed;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

const json = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), headers);

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      reject(new HttpError(415, 'send application/json'));
      return;
    }
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_BODY) {
        reject(new HttpError(413, 'request too large'));
        req.destroy();
      }
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'the body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

function text(value: unknown, max = 200): string | undefined {
  return typeof value === 'string' && value !== '' && value.length <= max ? value : undefined;
}

export function sessionQuery(params: URLSearchParams): SessionQuery {
  const sort = params.get('sort') ?? 'last_time';
  if (!(SESSION_SORT_KEYS as readonly string[]).includes(sort))
    throw new HttpError(400, `sort must be one of ${SESSION_SORT_KEYS.join(', ')}`);
  const size = Number(params.get('size') ?? 50);
  const page = Number(params.get('page') ?? 1);
  if (!Number.isInteger(size) || size < 1 || size > PAGE_SIZE_MAX) throw new HttpError(400, `size must be 1 to ${PAGE_SIZE_MAX}`);
  if (!Number.isInteger(page) || page < 1 || page > 1_000_000) throw new HttpError(400, 'page must be a whole number from 1');
  const status = text(params.get('status'), 1);
  return {
    uname: text(params.get('user'), 100),
    server: text(params.get('server'), 100),
    status,
    sort: sort as SessionQuery['sort'],
    descending: params.get('dir') !== 'asc',
    offset: (page - 1) * size,
    limit: size,
  };
}

export class Dashboard {
  readonly server: Server;
  readonly #o: DashboardOptions;
  readonly #auth: AdminAuth;
  readonly #hosts: Set<string>;
  readonly #samples: { at: number; counts: Record<string, number> }[] = [];
  readonly #sampler: NodeJS.Timeout;
  readonly #streams = new Set<ServerResponse>();
  /** Root's reading of recent events, shared by every SSE stream. */
  readonly #recent = new Map<number, Promise<SessionEvent | undefined>>();

  constructor(options: DashboardOptions) {
    this.#o = options;
    this.#auth = new AdminAuth(options.settings.tokenFile);
    if (this.#auth.problem) options.log('warning', this.#auth.problem);
    this.#hosts = new Set(['localhost', hostname().toLowerCase(), ...options.settings.dashboardHosts]);
    this.server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (err instanceof HttpError) json(res, err.status, { error: err.message });
        else {
          options.log('err', `dashboard: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          if (!res.headersSent) json(res, 500, { error: 'internal error' });
          else res.destroy();
        }
      });
    });
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 15_000;
    this.#sampler = setInterval(() => void this.#sample(), SAMPLE_MS);
    this.#sampler.unref();
    void this.#sample();
  }

  async listen(): Promise<string> {
    const listen = this.#o.settings.listen;
    if (!listen) throw new Error('no listen address');
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(listen.port, listen.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    return typeof address === 'object' && address ? `${address.address}:${address.port}` : String(address);
  }

  async #sample(): Promise<void> {
    const snap = await this.#o.metrics.snapshot();
    if (!snap) return;
    const counts: Record<string, number> = {};
    for (const s of snap.sessions) counts[s.status] = (counts[s.status] ?? 0) + s.count;
    this.#samples.push({ at: Math.floor(Date.now() / 1000), counts });
    if (this.#samples.length > KEEP_SAMPLES) this.#samples.shift();
  }

  /** The Host header names this machine: an IP address, localhost, its host name, or a configured name. */
  #hostAllowed(req: IncomingMessage): boolean {
    const host = (req.headers.host ?? '').toLowerCase();
    const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : (host.split(':')[0] ?? '');
    return isIP(name) !== 0 || this.#hosts.has(name);
  }

  /** A state-changing request comes from this dashboard's own page. */
  #sameOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    return typeof origin === 'string' && origin === `http://${req.headers.host ?? ''}`;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#hostAllowed(req)) throw new HttpError(421, 'unknown host name; add it to [sessiond] dashboard_hosts=');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    if (req.method === 'POST' && !this.#sameOrigin(req) && req.headers.authorization === undefined) {
      throw new HttpError(403, 'cross-origin request refused');
    }
    switch (route) {
      case 'GET /metrics':
        send(res, 200, this.#o.metrics.registry.contentType, await this.#o.metrics.text());
        return;
      case 'GET /':
        send(res, 200, 'text/html; charset=utf-8', assets().html);
        return;
      case 'GET /assets/app.js':
        send(res, 200, 'text/javascript; charset=utf-8', assets().js, { 'Cache-Control': 'no-cache' });
        return;
      case 'GET /assets/app.css':
        send(res, 200, 'text/css; charset=utf-8', assets().css, { 'Cache-Control': 'no-cache' });
        return;
      case 'GET /api/me': {
        const s = this.#auth.session(req);
        json(res, 200, { admin: s !== undefined, csrf: s?.csrf ?? null, actions: this.#auth.problem ? [] : ['terminate', 'suspend'] });
        return;
      }
      case 'POST /api/login': {
        const body = (await readBody(req)) as { token?: unknown };
        const login = typeof body?.token === 'string' ? this.#auth.login(body.token.trim()) : undefined;
        if (!login) {
          // Guessing costs time.
          await new Promise((r) => setTimeout(r, FAILED_LOGIN_DELAY_MS));
          this.#o.log('warning', 'dashboard: a login with a wrong token');
          throw new HttpError(401, 'wrong token');
        }
        json(
          res,
          200,
          { admin: true, csrf: login.csrf },
          { 'Set-Cookie': `${COOKIE}=${login.id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200` },
        );
        return;
      }
      case 'POST /api/logout':
        this.#auth.logout(req);
        json(res, 200, { admin: false }, { 'Set-Cookie': `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` });
        return;
      case 'GET /api/overview':
        json(res, 200, await this.#overview());
        return;
      case 'GET /api/sessions': {
        if (!this.#auth.mayRead(req)) throw new HttpError(401, 'log in as the administrator to see sessions');
        const monitor = await this.#o.monitor();
        json(res, 200, await monitor.sessions(sessionQuery(url.searchParams)));
        return;
      }
      case 'GET /api/events':
        if (!this.#auth.mayRead(req)) throw new HttpError(401, 'log in as the administrator to follow sessions');
        await this.#events(req, res);
        return;
      case 'POST /api/actions': {
        if (!this.#auth.mayAct(req)) throw new HttpError(403, 'log in as the administrator (and send the CSRF token) to act');
        const body = (await readBody(req)) as { action?: unknown; sessionId?: unknown };
        if (!isAction(body?.action) || typeof body.sessionId !== 'string')
          throw new HttpError(400, 'send {"action": "terminate"|"suspend", "sessionId": "..."}');
        let result: Awaited<ReturnType<RunAction>>;
        try {
          result = await this.#o.act(body.action, body.sessionId);
        } catch (err) {
          throw new HttpError(400, err instanceof Error ? err.message : String(err));
        }
        this.#o.log('notice', `dashboard: ${body.action} ${body.sessionId}: ${result.ok ? 'done' : result.message}`);
        json(res, result.ok ? 200 : 409, result);
        return;
      }
      default:
        throw new HttpError(url.pathname.startsWith('/api/') || url.pathname === '/metrics' ? 405 : 404, 'not found');
    }
  }

  async #overview(): Promise<unknown> {
    const monitor = await this.#o.monitor();
    const [nodes, history, statusNow] = await Promise.all([monitor.nodes(), monitor.history(HISTORY_MINUTES), monitor.statusCounts()]);
    return {
      node: this.#o.node,
      backend: this.#o.backend,
      statusNow,
      statusSamples: [...this.#samples, { at: Math.floor(Date.now() / 1000), counts: statusNow }],
      history,
      latency: this.#o.metrics.latencySeries(),
      nodes,
    };
  }

  #event(id: number): Promise<SessionEvent | undefined> {
    let cached = this.#recent.get(id);
    if (!cached) {
      cached = this.#o.monitor().then((m) => m.eventFor(id, { uid: 0, name: 'root' }));
      this.#recent.set(id, cached);
      if (this.#recent.size > 200) this.#recent.delete(this.#recent.keys().next().value as number);
    }
    return cached;
  }

  async #events(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    res.write(': connected\n\n');
    this.#streams.add(res);
    let chain = Promise.resolve();
    const stop = await this.#o.feed.add((id) => {
      chain = chain.then(async () => {
        const event = await this.#event(id).catch(() => undefined);
        if (event && !res.destroyed) res.write(`data: ${JSON.stringify(event)}\n\n`);
      });
    });
    res.write('event: ready\ndata: {}\n\n');
    const ping = setInterval(() => res.write(': ping\n\n'), SSE_PING_MS);
    req.on('close', () => {
      clearInterval(ping);
      stop();
      this.#streams.delete(res);
    });
  }

  close(): void {
    clearInterval(this.#sampler);
    for (const res of this.#streams) res.destroy();
    this.server.close();
    this.server.closeAllConnections();
  }
}
