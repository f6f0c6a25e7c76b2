// The checks of x2go-sessiondb doctor, in the order they are reported. Each judges the facts the
// backend gathered (model/doctor.ts) and what this host shows, and names every row it finds
// with what --fix would do about it. A check never changes anything itself.

import type { DatabaseFacts, Finding, Repair } from '../model/doctor.js';
import { agentRuns, displayHeld, heldDisplays, ownedByPackage, type XPaths } from './host.js';

export interface DoctorContext {
  facts: DatabaseFacts;
  /** This node's server name, as sessions record it. */
  server: string;
  /** Seconds: a node not seen for longer is down. */
  nodeTimeout: number;
  /** Seconds: an F row older than this should have been purged. */
  purgeAge: number;
  x: XPaths;
  /** X displays from here up are X2Go's (x2gostartagent's first display). */
  displayBase: number;
  /** Setgid x2gouser programs users can run, other than our launcher. */
  exposedSetgid: string[];
}

/** What doctor repairs on the host itself rather than in the database. */
export type HostRepair = { kind: 'drop-setgid'; path: string };

export interface DoctorFinding extends Omit<Finding, 'repair'> {
  repair?: Repair | HostRepair;
}

export interface Check {
  name: string;
  /** What the check looks for, for the report. */
  title: string;
  run(ctx: DoctorContext): DoctorFinding[];
}

/** x2gocleansessions leaves a session this long after its last change before judging its agent. */
const AGENT_GRACE_S = 30;

const live = (ctx: DoctorContext) => ctx.facts.sessions.filter((s) => s.server === ctx.server && (s.status === 'R' || s.status === 'S'));

export const CHECKS: readonly Check[] = [
  {
    name: 'agents',
    title: 'sessions R/S on this node whose agent process is gone',
    run: (ctx) =>
      live(ctx)
        .filter((s) => s.lastChangeAge >= AGENT_GRACE_S && !agentRuns(s.agentPid, s.sessionId))
        .map((s) => ({
          subject: s.sessionId,
          detail: `${s.status}, display ${s.display}: ${s.agentPid === null ? 'no agent recorded' : `pid ${s.agentPid} is not its x2goagent`}`,
          repair: { kind: 'end-session', sessionId: s.sessionId, why: 'agent gone' },
        })),
  },
  {
    name: 'down-nodes',
    title: 'sessions of nodes not seen for node_timeout',
    run: (ctx) => {
      const down = new Map(
        ctx.facts.nodes.filter((n) => n.lastSeenAge > ctx.nodeTimeout && n.server !== ctx.server).map((n) => [n.server, n]),
      );
      return ctx.facts.sessions.flatMap((s) => {
        const node = down.get(s.server);
        if (!node) return [];
        return [
          {
            subject: s.sessionId,
            detail: `${s.status} on ${s.server}, not seen for ${node.lastSeenAge} s`,
            repair: { kind: 'end-session', sessionId: s.sessionId, why: `node ${s.server} down` },
          },
        ];
      });
    },
  },
  {
    name: 'drained',
    title: 'draining nodes that hold no session any more: ready to stop',
    run: (ctx) =>
      ctx.facts.nodes
        .filter((n) => n.state === 'draining' && !ctx.facts.sessions.some((s) => s.server === n.server && s.status !== 'F'))
        .map((n) => ({ subject: n.server, detail: 'draining and holds no session: ready to stop (x2go-sessiondb undrain puts it back)' })),
  },
  {
    name: 'orphan-ports',
    title: 'reserved ports without a session',
    run: (ctx) =>
      ctx.facts.orphanPorts.map((p) => ({
        subject: `port ${p.port} on ${p.server}`,
        detail: `its session ${p.sessionId ?? '(none)'} is gone`,
        repair: { kind: 'delete-port', server: p.server, port: p.port },
      })),
  },
  {
    name: 'orphan-mounts',
    title: 'mounts without a session',
    run: (ctx) =>
      ctx.facts.orphanMounts.map((m) => ({
        subject: `${m.client}:${m.path}`,
        detail: `its session ${m.sessionId ?? '(none)'} is gone`,
        repair: { kind: 'delete-mount', sessionId: m.sessionId, path: m.path, client: m.client },
      })),
  },
  {
    name: 'old-finished',
    title: 'finished (F) sessions older than purge_age',
    run: (ctx) =>
      ctx.facts.sessions
        .filter((s) => s.status === 'F' && s.lastChangeAge > ctx.purgeAge)
        .map((s) => ({
          subject: s.sessionId,
          detail: `F on ${s.server} for ${s.lastChangeAge} s`,
          repair: { kind: 'purge-finished', sessionId: s.sessionId },
        })),
  },
  {
    name: 'displays',
    title: 'displays recorded without an X socket or lock file, and X displays the database does not know',
    run: (ctx) => {
      const recorded = live(ctx)
        .filter((s) => s.lastChangeAge >= AGENT_GRACE_S && !displayHeld(s.display, ctx.x))
        .map((s) => ({ subject: s.sessionId, detail: `display ${s.display}: no X socket or lock file on this host` }));
      const known = new Set(ctx.facts.sessions.filter((s) => s.server === ctx.server).map((s) => s.display));
      const unknown = heldDisplays(ctx.x)
        .filter((d) => d >= ctx.displayBase && !known.has(d))
        .map((d) => ({
          subject: `display ${d}`,
          detail: 'held by an X server (socket or lock file) that no session of this node records',
        }));
      return [...recorded, ...unknown];
    },
  },
  {
    name: 'schema',
    title: 'schema and migration state',
    run: ({ facts: { schema } }) =>
      schema.version === schema.latest
        ? []
        : schema.version < schema.latest
          ? [
              {
                subject: `schema version ${schema.version}`,
                detail: `this release needs ${schema.latest}`,
                repair: { kind: 'update-schema' },
              },
            ]
          : [
              {
                subject: `schema version ${schema.version}`,
                detail: `newer than this release knows (${schema.latest}): upgrade x2go-sessiondb`,
              },
            ],
  },
  {
    name: 'setup',
    title: "the backend's set-up: the service role's memberships, password files, the database file and its directory",
    run: (ctx) => ctx.facts.setup,
  },
  {
    name: 'setgid',
    title: 'setgid x2gouser programs users can run that are not ours',
    run: (ctx) =>
      ctx.exposedSetgid.map((path) =>
        // A package's program gets its mode back on every upgrade (dpkg-statoverride): install
        // diverts it out of users' reach instead. Anything else loses the bit.
        ownedByPackage(path)
          ? { subject: path, detail: `a packaged program with group x2gouser users can run: run x2go-sessiondb install` }
          : {
              subject: path,
              detail: 'with group x2gouser a user writes the session database directly',
              repair: { kind: 'drop-setgid', path },
            },
      ),
  },
];
