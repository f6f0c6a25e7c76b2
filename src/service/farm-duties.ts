// What x2gosessiond does for the farm besides answering callers, every [sessiond] heartbeat
// seconds: records this node's heartbeat and load (table nodes), closes what down nodes left
// behind (one live node at a time, under an advisory lock; PostgreSQL), and carries out the
// terminate/suspend requests other nodes queued for this one (at once on LISTEN/NOTIFY, and
// each cycle for a notification missed while the connection was down). A failed cycle is
// logged and the next one tries again: the farm's duties never stop the service answering.

import { openFarm } from '../backends/farm.js';
import type { Settings } from '../config/config.js';
import type { SessiondSettings } from '../config/sessiond.js';
import type { AdminRequest, FarmStore, Outcome } from '../model/farm.js';
import type { Level } from './log.js';
import { runAsSessionUser } from './run-as-session-user.js';
import { systemLoad } from './node-load.js';

/** The version a node registers with (the package's). */
export const SERVICE_VERSION = '0.1.0';

type Log = (level: Level, message: string) => void;

export class FarmDuties {
  readonly #settings: Settings;
  readonly #sessiond: SessiondSettings;
  readonly #node: string;
  readonly #log: Log;
  readonly #startedAt = new Date();
  #farm: FarmStore | undefined;
  #timer: NodeJS.Timeout | undefined;
  #cycle: Promise<void> = Promise.resolve();
  #requests: Promise<void> = Promise.resolve();
  #requestsAgain = false;
  #failing = false;
  #stopped = false;

  constructor(settings: Settings, sessiond: SessiondSettings, node: string, log: Log) {
    this.#settings = settings;
    this.#sessiond = sessiond;
    this.#node = node;
    this.#log = log;
  }

  /** The first heartbeat now; then one every [sessiond] heartbeat seconds. */
  async start(): Promise<void> {
    this.#farm = await openFarm(this.#settings, 'service');
    if (this.#farm.listenForRequests) {
      await this.#farm
        .listenForRequests(this.#node, () => this.#takeRequests())
        .catch((err: unknown) => this.#log('warning', `cannot listen for admin requests (taken each heartbeat instead): ${message(err)}`));
    }
    // SQLite: one implicit node, nothing to do.
    if (!this.#farm.heartbeat) return;
    this.#cycle = this.#beat();
    await this.#cycle;
    this.#timer = setInterval(() => {
      this.#cycle = this.#cycle.then(() => this.#beat());
    }, this.#sessiond.heartbeatS * 1000);
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    const farm = this.#farm;
    if (!farm?.heartbeat || this.#stopped) return;
    try {
      await farm.heartbeat({
        server: this.#node,
        version: SERVICE_VERSION,
        pid: process.pid,
        startedAt: this.#startedAt,
        system: systemLoad(),
      });
      if (this.#failing) this.#log('notice', 'heartbeat recorded again');
      this.#failing = false;
    } catch (err) {
      // A node that cannot record its own heartbeat must not judge others down.
      if (!this.#failing) this.#log('err', `heartbeat failed: ${message(err)}`);
      this.#failing = true;
      return;
    }
    await this.#cleanUp(farm);
    this.#takeRequests();
  }

  async #cleanUp(farm: FarmStore): Promise<void> {
    if (!farm.cleanDownNodes) return;
    try {
      const cleanup = await farm.cleanDownNodes(this.#node, this.#sessiond.nodeTimeoutS);
      if (!cleanup) {
        this.#log('info', 'dead-node cleanup: another node holds the cleanup lock; skipped this round');
        return;
      }
      for (const { server, sessions } of cleanup.closed) {
        this.#log('notice', `dead-node cleanup: node ${server} is down; cleaned ${sessions.length} session(s): ${sessions.join(' ')}`);
      }
    } catch (err) {
      this.#log('err', `dead-node cleanup failed: ${message(err)}`);
    }
  }

  /** One pass over this node's queued requests at a time; a wake-up during a pass runs another. */
  #takeRequests(): void {
    const farm = this.#farm;
    if (!farm?.takeRequests || this.#stopped) return;
    if (this.#requestsAgain) return;
    this.#requestsAgain = true;
    this.#requests = this.#requests.then(async () => {
      this.#requestsAgain = false;
      try {
        await farm.takeRequests?.(this.#node, (request) => this.#carryOut(farm, request));
      } catch (err) {
        this.#log('err', `admin requests: ${message(err)}`);
      }
    });
  }

  async #carryOut(farm: FarmStore, request: AdminRequest): Promise<Outcome> {
    const [session] = (await farm.sessions({ server: this.#node })).filter((s) => s.sessionId === request.sessionId);
    const outcome: Outcome = session
      ? await runAsSessionUser(request.action, session)
      : { ok: false, outcome: `${this.#node}: no session ${request.sessionId} on this node` };
    this.#log(
      outcome.ok ? 'notice' : 'warning',
      `admin request ${request.id} (${request.action} by uid ${request.requestedBy}): ${outcome.outcome}`,
    );
    return outcome;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#cycle.catch(() => {});
    await this.#requests.catch(() => {});
    await this.#farm?.close().catch(() => {});
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
