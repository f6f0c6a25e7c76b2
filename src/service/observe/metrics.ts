// The service's Prometheus metrics (prom-client; loaded by the service only, never on a helper's
// path). Two kinds of figure:
//   * this node's, counted as requests are answered: requests by command and exit code, latency
//     by command, the reservation's latency, rejected requests, and the process (RSS, CPU,
//     event-loop lag: prom-client's default collectors);
//   * the farm's, from the database: sessions by server and status, nodes up and down, history
//     events by kind. One query (FarmMonitor.snapshot) per SNAPSHOT_TTL_MS, however often and by
//     however many scrapers: a scrape inside that time gets the cached figures.
// Labels never carry a session id, cookie or user name (cardinality, and privacy); the command
// label is one of a closed list.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { HELPER_NAMES } from '../../app/helper-names.js';
import { COMMANDS } from '../../app/commands.js';
import type { FarmMonitor, FarmSnapshot } from '../../model/monitor.js';

/** Scrapes within this time share one database query. */
export const SNAPSHOT_TTL_MS = 4_000;

const HELPERS = new Set<string>(HELPER_NAMES);
/**
 * How often the event loop's lag is sampled (nodejs_eventloop_lag_*): prom-client's default. Each
 * sample wakes the service; sampled every second, an idle service slept, and every call found it
 * colder: 0.1-0.15 ms slower a call, a listing 1.85 to 1.99 ms (bench:listing's conditions).
 */
const EVENT_LOOP_SAMPLE_MS = 10;

/** The command a request ran, from a closed list: a helper's name, or the wrapper's command. */
export function commandOf(program: string, args: readonly string[]): string {
  if (HELPERS.has(program)) return program;
  const name = args.find((a) => !a.startsWith('--'));
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? name : 'other';
}

/** What a request did to a session's life, when it succeeded (the service's own count). */
function operationOf(command: string, args: readonly string[]): string | undefined {
  switch (command) {
    case 'x2gocreatesession':
    case 'createsession':
    case 'x2gocreateshadowsession':
    case 'createshadowsession':
      return 'start';
    case 'x2goresume':
    case 'resume':
      return 'resume';
    case 'x2gochangestatus':
    case 'changestatus': {
      const status = args.find((a) => /^[RSTF]$/.test(a));
      return status === 'S' ? 'suspend' : status === 'F' || status === 'T' ? 'terminate' : undefined;
    }
    default:
      return undefined;
  }
}

const EXIT_CLASSES: Record<number, string> = { 1: 'failed', 2: 'invalid', 3: 'denied', 4: 'unavailable' };

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'command' | 'exit_code'>;
  readonly #duration: Histogram<'command'>;
  readonly #reservation: Histogram;
  readonly #operations: Counter<'operation'>;
  readonly #errors: Counter<'class'>;
  readonly #rejected: Counter;
  #snapshot: { at: number; value: Promise<FarmSnapshot | undefined> } | undefined;
  readonly #monitor: () => Promise<FarmMonitor>;
  /** Request latencies per minute (a bounded sample and the count), for the dashboard's plot. */
  readonly latency = new Map<number, { sample: number[]; count: number }>();

  constructor(monitor: () => Promise<FarmMonitor>, inFlight: () => number) {
    this.#monitor = monitor;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    // Gauges that prom-client names with _total, which Prometheus reserves for counters (promtool
    // check metrics fails on them); the handles they count say little about this service.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
    this.#requests = new Counter({
      name: 'x2go_sessiond_requests_total',
      help: 'Requests answered by this node’s x2gosessiond, by command and exit code.',
      labelNames: ['command', 'exit_code'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'x2go_sessiond_request_duration_seconds',
      help: 'Time from the go-ahead to the answer, by command.',
      labelNames: ['command'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.#reservation = new Histogram({
      name: 'x2go_sessiond_reservation_duration_seconds',
      help: 'Time of one atomic reservation (display and ports) for a session start.',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.#operations = new Counter({
      name: 'x2go_sessiond_session_operations_total',
      help: 'Session starts, resumes, suspends and terminations this node carried out (successful requests).',
      labelNames: ['operation'],
      registers,
    });
    for (const operation of ['start', 'resume', 'suspend', 'terminate']) this.#operations.inc({ operation }, 0);
    this.#errors = new Counter({
      name: 'x2go_database_errors_total',
      help: 'Database errors seen by this node, by class (unavailable: a request answered with exit 4; snapshot: the metrics query failed).',
      labelNames: ['class'],
      registers,
    });
    for (const cls of ['unavailable', 'snapshot']) this.#errors.inc({ class: cls }, 0);
    this.#rejected = new Counter({
      name: 'x2go_sessiond_rejected_requests_total',
      help: 'Malformed, oversized, too slow or falsely signed requests, closed without running anything.',
      registers,
    });
    new Gauge({
      name: 'x2go_sessiond_requests_in_flight',
      help: 'Requests being answered now.',
      registers,
      collect() {
        this.set(inFlight());
      },
    });
    const snapshot = () => this.snapshot();
    new Gauge({
      name: 'x2go_database_up',
      help: '1 when the last farm query succeeded, else 0.',
      registers,
      async collect() {
        this.set((await snapshot()) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'x2go_sessions',
      help: 'Sessions in the database, farm-wide, by server and status (R running, S suspended, T terminating, F finished).',
      labelNames: ['server', 'status'],
      registers,
      async collect() {
        this.reset();
        for (const s of (await snapshot())?.sessions ?? []) this.set({ server: s.server, status: s.status }, s.count);
      },
    });
    new Gauge({
      name: 'x2go_nodes',
      help: 'x2gosessiond nodes in the nodes table, by whether their heartbeat is recent (up) or not (down).',
      labelNames: ['state'],
      registers,
      async collect() {
        const snap = await snapshot();
        this.reset();
        if (!snap) return;
        this.set({ state: 'up' }, snap.nodes.up);
        this.set({ state: 'down' }, snap.nodes.down);
      },
    });
    new Counter({
      name: 'x2go_session_events_total',
      help: 'Events in the session history, farm-wide, by kind (created, started, suspended, resumed, finished, ...).',
      labelNames: ['event'],
      registers,
      async collect() {
        const snap = await snapshot();
        this.reset();
        for (const [event, n] of Object.entries(snap?.events ?? {})) this.inc({ event }, n);
      },
    });
  }

  /** The farm's figures, from the database at most once per SNAPSHOT_TTL_MS; undefined when it failed. */
  snapshot(): Promise<FarmSnapshot | undefined> {
    const now = Date.now();
    if (this.#snapshot && now - this.#snapshot.at < SNAPSHOT_TTL_MS) return this.#snapshot.value;
    const value = this.#monitor()
      .then((m) => m.snapshot())
      .catch(() => {
        this.#errors.inc({ class: 'snapshot' });
        return undefined;
      });
    this.#snapshot = { at: now, value };
    return value;
  }

  /** One request answered: counted, timed. */
  answered(program: string, args: readonly string[], exitCode: number, seconds: number): void {
    const command = commandOf(program, args);
    this.#requests.inc({ command, exit_code: String(exitCode) });
    this.#duration.observe({ command }, seconds);
    if (command === 'x2goreservesession' || command === 'reservesession') this.#reservation.observe(seconds);
    const cls = EXIT_CLASSES[exitCode];
    if (cls === 'unavailable') this.#errors.inc({ class: cls });
    if (exitCode === 0) {
      const operation = operationOf(command, args);
      if (operation) this.#operations.inc({ operation });
    }
    this.#remember(seconds);
  }

  rejected(): void {
    this.#rejected.inc();
  }

  /** Latencies per minute for the last hours, kept in memory for the dashboard. */
  #remember(seconds: number): void {
    const minute = Math.floor(Date.now() / 60_000) * 60;
    let bucket = this.latency.get(minute);
    if (!bucket) {
      bucket = { sample: [], count: 0 };
      this.latency.set(minute, bucket);
      for (const key of this.latency.keys()) if (key < minute - LATENCY_KEEP_MINUTES * 60) this.latency.delete(key);
    }
    // A bounded sample per minute: enough for a median and a 95th percentile.
    bucket.count++;
    if (bucket.sample.length < 2000) bucket.sample.push(seconds);
    else bucket.sample[Math.floor(Math.random() * bucket.sample.length)] = seconds;
  }

  latencySeries(): { minute: number; p50: number; p95: number; count: number }[] {
    return [...this.latency.entries()]
      .sort(([a], [b]) => a - b)
      .map(([minute, { sample, count }]) => {
        const sorted = [...sample].sort((a, b) => a - b);
        const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
        return { minute, p50: at(0.5), p95: at(0.95), count };
      });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}

export const LATENCY_KEEP_MINUTES = 6 * 60;
