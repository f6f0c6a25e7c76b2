// x2golistsessions and x2golistshadowsessions: what Debian's Perl programs of those names do
// (/usr/bin/x2golistsessions, /usr/bin/x2golistshadowsessions of x2goserver 4.1.0.3), on one
// store and in one request: list the caller's sessions, bring each one's status in line with
// what its agent's state file says (R to S when suspended, then x2goumount-session and
// x2gormforward; S to R when running again), and print each line with its newline. The state
// files are read by the caller's side with the caller's rights (agent-report.ts); here they are
// only looked up, and the programs to run are answered as actions, never run.

import type { LegacyTraits } from '../model/backend.js';
import type { SessionDb } from '../model/session-db.js';
import { parseServer } from '../model/validate.js';
import { type Action, type AgentReport, stateKey, type StateClass } from './agent-report.js';
import { legacyLines, type Listing } from './format.js';
import type { ListingProgram } from './helper-names.js';

/** Syslog priorities, as Sys::Syslog names them. */
const WARNING = 4;
const INFO = 6;
const DEBUG = 7;
const LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

/** X2Go::Log's loglevel(): the exact name, else notice. */
export function logMask(name: string): number {
  const index = LEVELS.indexOf(name);
  return index < 0 ? 5 : index;
}

export interface ListingResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  actions: Action[];
}

/** X2Go::Server::Agent::NX's get_agent_state_file: whose /tmp/.x2go-<user> holds the state. */
export function stateUser(sessionId: string, uname: string): string {
  // The includes() first: the pattern's leading .* makes a miss cost a scan per start position.
  if (sessionId.includes('XSHAD') && /.*-[0-9]{2,}-[0-9]{10,}_stS(0|1)XSHAD.*XSHADPP.*/.test(sessionId)) return shadowUser(sessionId);
  return uname;
}

/** x2golistshadowsessions' s/.*XSHAD(.*)XSHADPP.*\/$1/ (greedy, as Perl's). */
function shadowUser(sessionId: string): string {
  return sessionId.replace(/^.*XSHAD(.*)XSHADPP.*$/s, '$1');
}

const SUSPENDED: StateClass = 'S';
const RUNNING: StateClass = 'R';

/**
 * Runs one of the two programs. `args` are the user's; `report` the caller's side's. When the
 * report lacks a state file this needs (another user's directory, or a partial first round), the
 * answer is only the list of files to read, and nothing is changed.
 */
export async function runListing(
  program: ListingProgram,
  args: readonly string[],
  report: AgentReport,
  db: SessionDb,
  caller: string,
  traits: LegacyTraits,
  loglevel: string,
): Promise<ListingResult> {
  const mask = logMask(loglevel);
  const actions: Action[] = [];
  const log = (priority: number, message: string): void => {
    if (priority <= mask) actions.push({ kind: 'log', priority, message });
  };
  if (args.length > 0) log(INFO, `${program} has been called with options: ${args.join(' ')}`);
  else log(DEBUG, `${program} has been called with no option`);

  const shadow = program === 'x2golistshadowsessions';
  if (!shadow && (report.host === '(none)' || report.host === 'localhost')) {
    const stderr =
      'Hostname of X2Go Server is not set-up correctly, check /etc/hostname. Exiting... at /usr/bin/x2golistsessions line 44.\n';
    return { stdout: '', stderr, exitCode: 255, actions };
  }
  // Perl's `if (! $serv)`: no argument, '' and '0' mean this host.
  const first = args[0];
  const server = first === undefined || first === '' || first === '0' ? report.host : first;
  const all = server === '--all-servers';
  const listing: Listing = shadow ? 'shadow' : 'sessions';
  const rows = all
    ? shadow
      ? await db.listshadowsessions_all()
      : await db.listsessions_all()
    : shadow
      ? await db.listshadowsessions(parseServer(server))
      : await db.listsessions(parseServer(server));
  // The Perl programs take DB.pm's lines, drop blanks and turn '*' into blanks.
  const lines = legacyLines({ kind: 'sessions', listing, rows }, traits).map((l) => l.replace(/ /g, '').replace(/\*/g, ' '));

  // Which state each line needs: x2golistsessions for R and S (if the file is there), the shadow
  // listing for R. A state the report cannot tell is asked for by name, before anything changes.
  const needs: Action[] = [];
  const lookups = lines.map((line) => {
    const f = line.split('|');
    const status = f[4];
    if (status === 'F' || !(status === 'R' || (!shadow && status === 'S'))) return undefined;
    const sessionId = f[1] ?? '';
    const user = shadow ? shadowUser(sessionId) : stateUser(sessionId, f[11] ?? '');
    const found = report.states.get(stateKey(user, sessionId));
    if (found === undefined && report.round === 1 && (user !== caller || !report.complete)) {
      needs.push({ kind: 'need', user, sessionId });
    }
    return { sessionId, user, status, state: found ?? '-' };
  });
  if (needs.length > 0) return { stdout: '', stderr: '', exitCode: 0, actions: needs };

  const out: string[] = [];
  for (const [i, line] of lines.entries()) {
    const l = lookups[i];
    let printed = line;
    if (l && l.status === 'R' && l.state === SUSPENDED && (await changeStatus(db, 'S', l.sessionId))) {
      printed = line.replace('|R|', '|S|');
      actions.push({ kind: 'umount', sessionId: l.sessionId });
      if (!shadow) actions.push({ kind: 'rmforward', sessionId: l.sessionId });
    } else if (l && !shadow && l.status === 'S' && l.state === RUNNING && (await changeStatus(db, 'R', l.sessionId))) {
      printed = line.replace('|S|', '|R|');
    } else if (l && shadow && l.state === '-') {
      // get_agent_state's warning; the Perl x2golistsessions asks has_agent_state_file first.
      const path = `/tmp/.x2go-${l.user}/C-${l.sessionId}/state`;
      log(WARNING, `${l.sessionId}: state file for this session does not exist: ${path} (this can be ignored during session startups)`);
    }
    out.push(`${printed}\n`);
  }
  return { stdout: out.join(''), stderr: '', exitCode: 0, actions };
}

/**
 * Whether the status was changed. A row the caller may not change (on PostgreSQL, a desktop-sharing
 * row its viewer lists but its creator owns; an id the reference stored malformed) is printed as
 * it is and nothing is run: the reference's SQLite wrapper swallowed the error and printed the
 * change it had not made.
 */
async function changeStatus(db: SessionDb, status: 'R' | 'S', sessionId: string): Promise<boolean> {
  try {
    await db.changestatus(status, sessionId);
    return true;
  } catch {
    return false;
  }
}
