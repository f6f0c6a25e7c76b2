// The dashboard in the browser: sessions (filtered, sorted and paged by the service), nodes, and
// plots of the last hours (uPlot), kept live by the service's Server-Sent Events. Plain DOM, no
// framework; every value is put in with textContent, never as HTML. Bundled by scripts/build.mjs.

import uPlot from 'uplot';
// Types only (erased from the page's bundle): what the service's API sends.
import type { NodeRow, SessionSummary } from '../../../model/monitor.js';

interface Overview {
  node: string;
  backend: string;
  statusSamples: { at: number; counts: Record<string, number> }[];
  history: { minute: number; event: string; count: number }[];
  latency: { minute: number; p50: number; p95: number; count: number }[];
  nodes: NodeRow[];
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const PAGE_SIZE = 50;
const state = { page: 1, sort: 'last_time', dir: 'desc', admin: false, csrf: '', actions: [] as string[], pages: 1 };
let fresh = new Set<string>();

function message(text: string, ok = false): void {
  const m = $('message');
  m.textContent = text;
  m.className = ok ? 'ok' : '';
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  const body = (await res.json().catch(() => ({}))) as T & { error?: string; message?: string };
  if (!res.ok) throw new Error(body.error ?? body.message ?? `${res.status}`);
  return body;
}

const post = <T>(path: string, body: unknown) =>
  api<T>(path, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': state.csrf }, body: JSON.stringify(body) });

function cell(row: HTMLTableRowElement, text: string, className = ''): HTMLTableCellElement {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function age(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
}

function filters(): URLSearchParams {
  const p = new URLSearchParams({ page: String(state.page), size: String(PAGE_SIZE), sort: state.sort, dir: state.dir });
  for (const [key, id] of [
    ['user', 'f-user'],
    ['server', 'f-server'],
    ['status', 'f-status'],
  ] as const) {
    const value = $<HTMLInputElement>(id).value.trim();
    if (value) p.set(key, value);
  }
  return p;
}

async function act(action: string, sessionId: string): Promise<void> {
  if (!confirm(`${action} ${sessionId}?`)) return;
  try {
    await post('/api/actions', { action, sessionId });
    message(`${action}: done`, true);
    void loadSessions();
  } catch (err) {
    message(`${action} refused: ${(err as Error).message}`);
  }
}

async function loadSessions(): Promise<void> {
  $('need-login').hidden = state.admin;
  const body = $<HTMLTableElement>('sessions').tBodies[0] as HTMLTableSectionElement;
  if (!state.admin) {
    body.replaceChildren();
    $('page-info').textContent = '';
    return;
  }
  const page = await api<{ total: number; rows: SessionSummary[] }>(`/api/sessions?${filters()}`);
  state.pages = Math.max(1, Math.ceil(page.total / PAGE_SIZE));
  const rows = page.rows.map((s) => {
    const tr = document.createElement('tr');
    tr.dataset.session = s.sessionId;
    if (fresh.has(s.sessionId)) tr.className = 'fresh';
    cell(tr, s.uname);
    cell(tr, s.server);
    cell(tr, s.status, `status-${s.status}`);
    cell(tr, String(s.display));
    cell(tr, s.client ?? '');
    cell(tr, s.initTime.replace('T', ' '));
    cell(tr, s.lastTime.replace('T', ' '));
    cell(tr, age(s.ageSeconds));
    const actions = tr.insertCell();
    for (const action of state.actions) {
      if (s.status === 'F' || (action === 'suspend' && s.status !== 'R')) continue;
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = action;
      b.dataset.action = action;
      b.addEventListener('click', () => void act(action, s.sessionId));
      actions.append(b);
    }
    return tr;
  });
  fresh = new Set();
  body.replaceChildren(...rows);
  $('page-info').textContent = `page ${state.page} of ${state.pages} · ${page.total.toLocaleString('en')} sessions`;
  $<HTMLButtonElement>('prev').disabled = state.page <= 1;
  $<HTMLButtonElement>('next').disabled = state.page >= state.pages;
  for (const th of document.querySelectorAll<HTMLElement>('th[data-sort]')) {
    th.className = th.dataset.sort === state.sort ? state.dir : '';
  }
}

function when(iso: string): string {
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  return `${age(Math.max(0, seconds))} ago`;
}

const plots = new Map<string, uPlot>();

function plot(id: string, series: uPlot.Series[], data: uPlot.AlignedData): void {
  const el = $(id);
  const width = Math.max(280, el.clientWidth - 8);
  plots.get(id)?.destroy();
  // At least ten minutes wide: one point (a service just started) would otherwise stretch the
  // time axis over years.
  const xs = data[0] as number[];
  const hi = xs.length ? Math.max(...xs) : Date.now() / 1000;
  const lo = Math.min(xs.length ? Math.min(...xs) : hi, hi - 600);
  const chart = new uPlot(
    {
      width,
      height: 220,
      series: [{}, ...series],
      axes: [{}, { size: 50 }],
      scales: { x: { time: true, auto: false, range: [lo, hi + 30] } },
    },
    data,
    el,
  );
  plots.set(id, chart);
}

const COLOURS: Record<string, string> = { R: '#1e7b34', S: '#d98c00', T: '#b3261e', F: '#8a939b' };

async function loadOverview(): Promise<void> {
  const o = await api<Overview>('/api/overview');
  $('where').textContent = `· ${o.node} · ${o.backend}`;
  const body = $<HTMLTableElement>('nodes').tBodies[0] as HTMLTableSectionElement;
  body.replaceChildren(
    ...o.nodes.map((n) => {
      const tr = document.createElement('tr');
      cell(tr, n.server);
      cell(tr, n.up ? 'up' : 'down', n.up ? '' : 'down');
      cell(tr, when(n.lastSeen));
      cell(tr, n.state);
      cell(tr, String(n.sessions));
      cell(tr, n.version);
      cell(tr, n.pid === null ? '' : String(n.pid));
      return tr;
    }),
  );
  $('no-nodes').hidden = o.nodes.length > 0;
  if ($('page-plots').hidden) return;
  const statuses = ['R', 'S', 'T', 'F'];
  plot(
    'plot-status',
    statuses.map((s) => ({ label: s, stroke: COLOURS[s] ?? '#000', width: 2 })),
    [o.statusSamples.map((p) => p.at), ...statuses.map((s) => o.statusSamples.map((p) => p.counts[s] ?? 0))],
  );
  // Every minute from the first event to now, quiet minutes as 0.
  const first = Math.min(...o.history.map((h) => h.minute), Math.floor(Date.now() / 60_000) * 60);
  const minutes: number[] = [];
  for (let m = first; m <= Date.now() / 1000; m += 60) minutes.push(m);
  const count = (minute: number, kinds: string[]) =>
    o.history.filter((h) => h.minute === minute && kinds.includes(h.event)).reduce((n, h) => n + h.count, 0);
  plot(
    'plot-logins',
    [
      { label: 'started', stroke: '#0b62a4', width: 2 },
      { label: 'resumed', stroke: '#7b1fa2', width: 2 },
    ],
    [minutes, minutes.map((m) => count(m, ['started', 'created'])), minutes.map((m) => count(m, ['resumed']))],
  );
  plot(
    'plot-latency',
    [
      { label: 'median', stroke: '#0b62a4', width: 2 },
      { label: '95th percentile', stroke: '#b3261e', width: 2 },
    ],
    [o.latency.map((l) => l.minute), o.latency.map((l) => l.p50 * 1000), o.latency.map((l) => l.p95 * 1000)],
  );
}

function show(): void {
  const page = (location.hash.slice(1) || 'sessions') as string;
  for (const name of ['sessions', 'nodes', 'plots']) {
    $(`page-${name}`).hidden = name !== page;
    $(`nav-${name}`).className = name === page ? 'current' : '';
  }
  void loadOverview().catch((err: Error) => message(err.message));
}

async function whoAmI(): Promise<void> {
  const me = await api<{ admin: boolean; csrf: string | null; actions: string[] }>('/api/me');
  state.admin = me.admin;
  state.csrf = me.csrf ?? '';
  state.actions = me.admin ? me.actions : [];
  $('login').hidden = me.admin;
  $('admin-badge').hidden = !me.admin;
  await loadSessions();
  live();
}

let source: EventSource | undefined;
let reload: number | undefined;

/** Server-Sent Events: each change reloads the page of sessions shown (at most every 250 ms). */
function live(): void {
  source?.close();
  source = undefined;
  const badge = $('live');
  if (!state.admin) {
    badge.textContent = 'offline';
    badge.className = '';
    return;
  }
  source = new EventSource('/api/events');
  source.addEventListener('ready', () => {
    badge.textContent = 'live';
    badge.className = 'on';
  });
  source.onerror = () => {
    badge.textContent = 'reconnecting';
    badge.className = '';
  };
  source.onmessage = (e: MessageEvent<string>) => {
    const event = JSON.parse(e.data) as { sessionId: string; uname: string; server: string; event: string; at: string };
    fresh.add(event.sessionId);
    $('last-event').textContent = `last change: ${event.at} ${event.uname} ${event.event} on ${event.server}`;
    if (reload === undefined)
      reload = window.setTimeout(() => {
        reload = undefined;
        void loadSessions().catch((err: Error) => message(err.message));
      }, 250);
  };
}

function init(): void {
  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $<HTMLInputElement>('token');
    post('/api/login', { token: token.value })
      .then(() => {
        token.value = '';
        message('logged in', true);
        return whoAmI();
      })
      .catch((err: Error) => message(`login refused: ${err.message}`));
  });
  $('logout').addEventListener('click', () => void post('/api/logout', {}).then(whoAmI));
  $('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    state.page = 1;
    void loadSessions().catch((err: Error) => message(err.message));
  });
  $('prev').addEventListener('click', () => {
    state.page = Math.max(1, state.page - 1);
    void loadSessions();
  });
  $('next').addEventListener('click', () => {
    state.page = Math.min(state.pages, state.page + 1);
    void loadSessions();
  });
  for (const th of document.querySelectorAll<HTMLElement>('th[data-sort]')) {
    th.addEventListener('click', () => {
      const key = th.dataset.sort ?? 'last_time';
      state.dir = state.sort === key && state.dir === 'asc' ? 'desc' : 'asc';
      state.sort = key;
      void loadSessions();
    });
  }
  window.addEventListener('hashchange', show);
  let resize: number | undefined;
  window.addEventListener('resize', () => {
    clearTimeout(resize);
    resize = window.setTimeout(() => void loadOverview(), 200);
  });
  window.setInterval(() => void loadOverview().catch(() => undefined), 30_000);
  show();
  void whoAmI().catch((err: Error) => message(err.message));
}

document.addEventListener('DOMContentLoaded', init);
