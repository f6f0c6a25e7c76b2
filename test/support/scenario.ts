// What the suites that run the reference and ours side by side share (differential.test.ts,
// differential-postgres.test.ts, dropin.test.ts): the session ids, cookie and mount paths of
// their scenarios, the shape of a scenario step ([user, program, ...args]), the real users who
// run the steps, and how one step runs through ours (the installed launcher) or the reference
// (its helpers, its SQLite wrapper, or on PostgreSQL its DB.pm). Each suite keeps its own list of
// steps: they differ on purpose, where the reference differs between its backends.

import { WRAPPER_NAME } from '../../src/install/install-launcher.js';
import type { Account } from '../../src/system/accounts.js';
import type { BackendKind } from './backends.js';
import type { Installed } from './launcher.js';
import { runReference, runReferenceDbpm } from './reference.js';
import { ensureUser, type Result } from './system.js';

/** The server name of the differential scenarios (the drop-in uses the host's own name). */
export const SRV = 'x2go-test';
export const COOKIE = '378b0cdbb51fe1b8147f43a2bccb514d';
/** alice's desktop session, bob's, and bob viewing alice's desktop (stored in bob's name). */
export const A = 'alice-51-1700000051_stDxfce_dp24';
export const B = 'bob-61-1700000061_stDxfce_dp24';
export const SHARE = 'bob-71-1700000071_stS1XSHADaliceXSHADPP51_dp24';
/** alice's second session: an RDP session in the differential scenarios, a desktop in the drop-in's. */
export const A2_RDP = 'alice-52-1700000052_stRrdp_dp24';
export const A2_DESKTOP = 'alice-52-1700000052_stDxfce_dp24';
/** Client folders of alice's, as x2gomountdirs names them. */
export const HOME = '/tmp/.x2go-alice/media/disk/_home_alice';
export const DATA = '/tmp/.x2go-alice/media/disk/_data';

export type Who = 'alice' | 'bob' | 'root';
/** [user, program, ...args]; 'wrapper' is libx2go-server-db-sqlite3-wrapper (ours: the wrapper-compatible CLI). */
export type Step = [Who, string, ...string[]];
export type Users = Record<Who, Account | undefined>;

/** The scenarios' users, created if missing (root is the test process itself). */
export function scenarioUsers(): Users {
  return { alice: ensureUser('alice'), bob: ensureUser('bob'), root: undefined };
}

/** A step through ours: the launcher, under the helper's or the wrapper's name. */
export function runOurs(inst: Installed, users: Users, [who, program, ...args]: Step): Result {
  return inst.helper(program === 'wrapper' ? WRAPPER_NAME : program, args, users[who]);
}

/** A step through the reference on SQLite: its helpers and its setgid wrapper. */
export function runReferenceSqlite(users: Users, [who, program, ...args]: Step): Result {
  return runReference(program === 'wrapper' ? 'libx2go-server-db-sqlite3-wrapper' : program, args, users[who]);
}

/**
 * A step through the reference on PostgreSQL: its helpers, and for 'wrapper' (which has no
 * PostgreSQL twin) DB.pm's function of that name, printed as the wrapper prints.
 */
export function runReferencePostgres(users: Users, [who, program, ...args]: Step): Result {
  return program === 'wrapper' ? runReferenceDbpm(args[0] ?? '', args.slice(1), users[who]) : runReference(program, args, users[who]);
}

/** The reference's way of running a step, per backend. */
export const REFERENCE_STEP: Record<BackendKind, (users: Users, step: Step) => Result> = {
  sqlite: runReferenceSqlite,
  postgres: runReferencePostgres,
};
