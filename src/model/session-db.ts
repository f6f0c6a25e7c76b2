// The session database as X2Go's tools use it: every operation of the reference's
// X2Go::Server::DB, for one caller, over any backend. Arguments arrive already validated and
// typed (see validate.ts); this layer decides who may do what, then calls the store.

import type { ServerFigures } from './farm.js';
import { SessionDbError } from './errors.js';
import type { EventActor, EventFilter, SessionEvent } from './history.js';
import { assertMayActOn, assertMayShareWith, isRoot, sessionIdUser, storedUserName } from './ownership.js';
import type { Reserved, SessionStore } from './store.js';
import { DEFAULT_QUOTA, quotaGuard, type Holdings, type QuotaGuard, type QuotaLimits } from './quota.js';
import { NO_SESSION_LIMITS, sessionLimitGuard, sessionLimitOf, type SessionLimits } from './session-limit.js';
import { namedFor, screenRootListing, type RootListing } from './stored-rows.js';
import { parseSessionId } from './validate.js';
import type { Caller, Mount, ServerLoad, SessionEndpoint, SessionRow, SessionStatus } from './types.js';

/** Session ids carry the display in at most four digits. */
const MAX_ID_DISPLAY = 9999;

/** The per-user limits and where they are configured (named in the refusal). */
export interface QuotaSettings {
  limits: QuotaLimits;
  /** The file an administrator edits to change them. */
  file: string;
}

export interface SessionDbOptions {
  now?: () => number;
  quota?: QuotaSettings;
  /** This host's name, recorded with every event this caller's changes write. */
  node?: string;
  /** x2goserver.conf's [limit users] and [limit groups] (session-limit.ts); none when absent. */
  sessionLimits?: SessionLimits;
  /** The names of a user's groups, as their login has them (asked only when a group limit could apply). */
  groupsOf?: (user: string) => readonly string[];
}

/** Answers whether a UNIX account exists (desktop-sharing rows are stored in the viewer's name). */
export type UserExists = (name: string) => boolean;

/** Telekinesis ports of a desktop-sharing session: never used, stored as -1 like the reference. */
const NO_TEKI = { tekictrlPort: -1, tekidataPort: -1 } as const;

export class SessionDb {
  readonly #store: SessionStore;
  readonly #caller: Caller;
  readonly #userExists: UserExists;
  /** May run the root-only commands: root, or the owner of a private database. */
  readonly #administrator: boolean;
  readonly #now: () => number;
  readonly #quota: QuotaSettings;
  readonly #by: EventActor;
  readonly #sessionLimits: SessionLimits;
  readonly #groupsOf: (user: string) => readonly string[];

  constructor(store: SessionStore, caller: Caller, userExists: UserExists, options: SessionDbOptions = {}) {
    this.#store = store;
    this.#caller = caller;
    this.#userExists = userExists;
    this.#administrator = isRoot(caller) || (store.ownedBy?.(caller.uid) ?? false);
    this.#now = options.now ?? Date.now;
    this.#quota = options.quota ?? { limits: DEFAULT_QUOTA, file: 'x2gosql/sql' };
    this.#by = { uid: caller.uid, node: options.node ?? 'localhost' };
    this.#sessionLimits = options.sessionLimits ?? NO_SESSION_LIMITS;
    this.#groupsOf = options.groupsOf ?? (() => []);
  }

  /**
   * Every path that creates a session or a port carries this check into the store's transaction;
   * the new rows count against the caller (for a desktop-sharing session: the desktop's owner,
   * not the viewer it is stored for). Root is not limited.
   */
  #quotaFor(adding: Holdings): QuotaGuard | undefined {
    if (this.#administrator) return undefined;
    return quotaGuard(this.#uname, this.#quota.limits, adding, this.#quota.file);
  }

  get #uname(): string {
    return storedUserName(this.#caller);
  }

  // --- listings for the caller -------------------------------------------------------------

  async listsessions(server: string): Promise<SessionRow[]> {
    return this.#store.listSessions({ server, uname: this.#uname, kind: 'desktop', includeFinished: false });
  }

  async listsessions_all(): Promise<SessionRow[]> {
    return this.#store.listSessions({ uname: this.#uname, kind: 'desktop', includeFinished: false });
  }

  async listshadowsessions(server: string): Promise<SessionRow[]> {
    return this.#store.listSessions({ server, uname: this.#uname, kind: 'shadow', includeFinished: false });
  }

  async listshadowsessions_all(): Promise<SessionRow[]> {
    return this.#store.listSessions({ uname: this.#uname, kind: 'shadow', includeFinished: false });
  }

  // --- starting a session --------------------------------------------------------------------

  async insertsession(display: number, server: string, sessionId: string): Promise<void> {
    assertMayActOn(this.#caller, sessionId);
    // Root may act on any session, but a row is stored in the caller's name: only under an id that
    // gives that name (root's listings refuse anything else, and the SQLite schema too).
    if (!namedFor(sessionId, this.#uname))
      throw new SessionDbError('invalid', `session ${sessionId} is not named after ${this.#caller.name}`);
    return this.#store.insertSession({
      sessionId,
      display,
      server,
      uname: this.#uname,
      quota: this.#quotaFor({ sessions: 1, ports: 0 }),
      by: this.#by,
    });
  }

  /** The shared desktop's owner (the caller) inserts the session for the viewer who asked. */
  async insertshadowsession(display: number, server: string, sessionId: string, viewer: string): Promise<void> {
    assertMayShareWith(this.#caller, sessionId, viewer);
    if (!namedFor(sessionId, viewer)) throw new SessionDbError('invalid', `session ${sessionId} is not named after ${viewer}`);
    this.#assertUserExists(viewer);
    return this.#store.insertSession({
      sessionId,
      display,
      server,
      uname: viewer,
      quota: this.#quotaFor({ sessions: 1, ports: 0 }),
      by: this.#by,
    });
  }

  async createsession(sessionId: string, cookie: string, agentPid: number, endpoint: SessionEndpoint): Promise<void> {
    assertMayActOn(this.#caller, sessionId);
    const changed = await this.#store.markStarted(sessionId, this.#uname, { cookie, agentPid, endpoint }, this.#by);
    this.#assertChanged(changed, sessionId);
  }

  async createshadowsession(
    sessionId: string,
    cookie: string,
    agentPid: number,
    endpoint: Omit<SessionEndpoint, 'tekictrlPort' | 'tekidataPort'>,
    viewer: string,
  ): Promise<void> {
    assertMayShareWith(this.#caller, sessionId, viewer);
    const changed = await this.#store.markStarted(sessionId, viewer, { cookie, agentPid, endpoint: { ...endpoint, ...NO_TEKI } }, this.#by);
    this.#assertChanged(changed, sessionId);
  }

  async insertport(server: string, sessionId: string, port: number): Promise<void> {
    assertMayActOn(this.#caller, sessionId);
    return this.#store.insertPort(server, sessionId, port, this.#quotaFor({ sessions: 0, ports: 1 }));
  }

  async rmport(server: string, sessionId: string, port: number): Promise<void> {
    assertMayActOn(this.#caller, sessionId);
    return this.#store.deletePort(server, sessionId, port);
  }

  /**
   * A login's display, ports and session row in one step (see SessionStore.reserve). The id is
   * the caller's: <user>-<display>-<unix time><suffix>, the suffix as x2gostartagent builds it
   * (_st<type><command>_dp<depth>...). Returns what x2gostartagent needs next.
   */
  async reservesession(request: {
    server: string;
    suffix: string;
    displayStart: number;
    portCount: number;
    portStart: number;
    busyDisplays: ReadonlySet<number>;
    busyPorts: ReadonlySet<number>;
  }): Promise<Reserved> {
    const user = this.#uname;
    const time = Math.floor(this.#now() / 1000);
    const sessionId = (display: number) => {
      const id = parseSessionId(`${user}-${display}-${time}${request.suffix}`);
      assertMayActOn(this.#caller, id);
      return id;
    };
    // A session id names its display in 2 to 4 digits.
    const displayStart = Math.max(request.displayStart, 10);
    if (displayStart > MAX_ID_DISPLAY)
      throw new SessionDbError('invalid', `display_start ${request.displayStart} is above ${MAX_ID_DISPLAY}`);
    sessionId(displayStart);
    const quota = this.#quotaFor({ sessions: 1, ports: request.portCount });
    // x2gosessionlimit reads the limits by the account's name (with a domain's backslash) and
    // applies them to everyone, root too; the sessions counted are those stored under `user`.
    const limit = sessionLimitOf(this.#sessionLimits, this.#caller.name, () => this.#groupsOf(this.#caller.name));
    return this.#store.reserve({
      ...request,
      uname: user,
      sessionId,
      displayStart,
      displayEnd: MAX_ID_DISPLAY,
      quota,
      limit: limit === undefined ? undefined : sessionLimitGuard(user, limit),
      by: this.#by,
    });
  }

  // --- running sessions ----------------------------------------------------------------------

  async resume(sessionId: string, endpoint: SessionEndpoint): Promise<void> {
    assertMayActOn(this.#caller, sessionId);
    this.#assertChanged(await this.#store.markResumed(sessionId, this.#uname, endpoint, this.#by), sessionId);
  }

  /**
   * Both a user's own sessions and desktop-sharing sessions of the caller's desktop (stored in
   * the viewer's name) change status, so the row is matched by the user the id is named after.
   * With `from`, only while the status is still `from`; else as a row that is not there.
   */
  async changestatus(status: SessionStatus, sessionId: string, from?: SessionStatus): Promise<void> {
    assertMayActOn(this.#caller, sessionId);
    const named = sessionIdUser(sessionId) ?? this.#uname;
    this.#assertChanged(await this.#store.setStatus(sessionId, named, status, this.#by, from), sessionId);
  }

  async getstatus(sessionId: string): Promise<string | undefined> {
    return (await this.#ownSession(sessionId))?.status;
  }

  async getagent(sessionId: string): Promise<number | null | undefined> {
    return (await this.#ownSession(sessionId))?.agentPid;
  }

  async getdisplay(sessionId: string): Promise<number | undefined> {
    return (await this.#ownSession(sessionId))?.display;
  }

  // --- allocation (what every user needs, without identities) --------------------------------

  async getdisplays(server: string): Promise<number[]> {
    return this.#store.displays(server);
  }

  async getports(server: string): Promise<number[]> {
    return this.#store.ports(server);
  }

  async getservers(): Promise<ServerLoad[]> {
    return this.#store.servers();
  }

  /** Every server with sessions or in the node registry: its count and the registry's figures. */
  async getserverfigures(): Promise<ServerFigures[]> {
    const [servers, nodes] = [await this.#store.servers(), await this.#store.nodes()];
    const names = [...new Set([...servers.map((s) => s.server), ...nodes.map((n) => n.server)])].sort();
    return names.map((server) => {
      const { server: _, ...node } = nodes.find((n) => n.server === server) ?? { server };
      return { server, sessions: servers.find((s) => s.server === server)?.sessions ?? 0, ...node };
    });
  }

  // --- client folders mounted into a session -------------------------------------------------

  /**
   * False when that client's path is already mounted: the reference reads a duplicate (path,
   * client) as "already mounted" and answers not ok, without an error. The store reports the
   * duplicate as a conflict; this is where it stops being one.
   */
  async insertmount(sessionId: string, path: string, client: string): Promise<boolean> {
    assertMayActOn(this.#caller, sessionId);
    try {
      await this.#store.insertMount(sessionId, path, client);
      return true;
    } catch (err) {
      if (err instanceof SessionDbError && err.code === 'conflict') return false;
      throw err;
    }
  }

  async deletemount(sessionId: string, path: string): Promise<void> {
    assertMayActOn(this.#caller, sessionId);
    return this.#store.deleteMount(sessionId, path);
  }

  async getmounts(sessionId: string): Promise<Mount[]> {
    assertMayActOn(this.#caller, sessionId);
    return this.#store.mounts(sessionId);
  }

  // --- history -------------------------------------------------------------------------------

  /**
   * The events of the caller's own sessions; root (the administrator) reads everyone's, or one
   * user's with `user`. A user naming someone else is refused, not answered with nothing.
   */
  async history(filter: { user?: string; server?: string; since?: Date }): Promise<SessionEvent[]> {
    const asked = filter.user?.replace(/\\/g, '');
    if (!this.#administrator && asked !== undefined && asked !== this.#uname) {
      throw new SessionDbError('denied', `${this.#caller.name} may read only their own history, not ${filter.user}'s`);
    }
    const uname = this.#administrator ? asked : this.#uname;
    const events: EventFilter = {};
    if (uname !== undefined) events.uname = uname;
    if (filter.server !== undefined) events.server = filter.server;
    if (filter.since !== undefined) events.since = filter.since;
    return this.#store.events(events);
  }

  // --- root only -----------------------------------------------------------------------------

  /**
   * Root's scripts run what these list through a shell: rows that fail the CLI's validation
   * (written by other means) are left out, each with a line in `refused` (see stored-rows.ts).
   */
  async listsessionsroot(server: string): Promise<RootListing> {
    this.#assertAdministrator('listsessionsroot');
    return screenRootListing(await this.#store.listSessions({ server, kind: 'any', includeFinished: true }));
  }

  async listsessionsroot_all(): Promise<RootListing> {
    this.#assertAdministrator('listsessionsroot_all');
    return screenRootListing(await this.#store.listSessions({ kind: 'any', includeFinished: true }));
  }

  /** Purges a session with its mounts and ports, in one transaction. */
  async rmsessionsroot(sessionId: string): Promise<void> {
    this.#assertAdministrator('rmsessionsroot');
    await this.#store.deleteSession(sessionId, this.#by);
  }

  /** Retention: removes the events older than `days` days (the service runs it; see history.ts). */
  async prunehistory(days: number): Promise<number> {
    this.#assertAdministrator('prunehistory');
    return this.#store.pruneEvents(new Date(this.#now() - days * 86_400_000));
  }

  async deletemounts(sessionId: string): Promise<void> {
    this.#assertAdministrator('deletemounts');
    return this.#store.deleteMounts(sessionId);
  }

  // -------------------------------------------------------------------------------------------

  #ownSession(sessionId: string): Promise<SessionRow | undefined> {
    assertMayActOn(this.#caller, sessionId);
    return this.#store.getSession(sessionId);
  }

  #assertChanged(changed: number, sessionId: string): void {
    if (changed === 0) {
      throw new SessionDbError('not-found', `no session ${sessionId} of ${this.#caller.name} in the session database`);
    }
  }

  #assertAdministrator(command: string): void {
    if (!this.#administrator) {
      throw new SessionDbError('denied', `${command} is for root only; ${this.#caller.name} may not run it`);
    }
  }

  #assertUserExists(name: string): void {
    if (!this.#userExists(name)) throw new SessionDbError('invalid', `user ${name} does not exist`);
  }
}
