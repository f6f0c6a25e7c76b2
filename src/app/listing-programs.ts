// x2golistsessions and x2golistshadowsessions: what Debian's Perl programs of those names do
// (/usr/bin/x2golistsessions, /usr/bin/x2golistshadowsessions of x2goserver 4.1.0.3), on one
// store and in one request: list the caller's sessions, bring each one's status in line with
// what its agent's state file says (R to S when suspended, then x2goumount-session and
// x2gormforward; S to R when running again), and print each line with its newline. The state
// files are read by the caller's side with the caller's rights (agent-report.ts); here they are
// only looked up, and the programs to run are answered as actions, never run. The sessions are
// listed before the report is awaited (the service lists them while the launcher reads the state
// files) and in a store use of their own: no store is held while a caller's report is on its way.

import type { LegacyTraits, StoreAccess } from '../model/backend.js';
import type { SessionDb } from '../model/session-db.js';
import { parseServer } from '../model/validate.js';
import { type Action, type ReportSource, stateKey, type StateClass } from './agent-report.js';
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

/** Perl's split(/\|/, $line) up to field `last`: the rest of a line (16 fields) is not cut up. */
function pipeFields(line: string, last: number): string[] {
  const fields: string[] = [];
  let start = 0;
  while (fields.length <= last) {
    const end = line.indexOf('|', start);
    fields.push(end < 0 ? line.slice(start) : line.slice(start, end));
    if (end < 0) break;
    start = end + 1;
  }
  return fields;
}

/** What the Perl programs print of a DB.pm line: blanks dropped, '*' turned into a blank. */
function perlLine(line: string): string {
  // Tested first: a poll prints every line, and almost none holds either.
  const unblanked = line.includes(' ') ? line.replace(/ /g, '') : line;
  return unblanked.includes('*') ? unblanked.replace(/\*/g, ' ') : unblanked;
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

/** Runs `work` on the caller's database, in a store use of its own (committed when it returns). */
export type WithDb = <T>(work: (db: SessionDb) => Promise<T>, access: StoreAccess) => Promise<T>;

/**
 * Runs one of the two programs. `args` are the user's; `source` gives the caller's side's report.
 * When the report lacks a state file this needs (another user's directory, or a partial first
 * round), the answer is only the list of files to read, and nothing is changed.
 */
export async function runListing(
  program: ListingProgram,
  args: readonly string[],
  source: ReportSource,
  withDb: WithDb,
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
  if (!shadow && (source.host === '(none)' || source.host === 'localhost')) {
    const stderr =
      'Hostname of X2Go Server is not set-up correctly, check /etc/hostname. Exiting... at /usr/bin/x2golistsessions line 44.\n';
    return { stdout: '', stderr, exitCode: 255, actions };
  }
  // Perl's `if (! $serv)`: no argument, '' and '0' mean this host.
  const first = args[0];
  const server = first === undefined || first === '' || first === '0' ? source.host : first;
  const all = server === '--all-servers';
  const listing: Listing = shadow ? 'shadow' : 'sessions';
  const rows = await withDb(
    (db) =>
      all
        ? shadow
          ? db.listshadowsessions_all()
          : db.listsessions_all()
        : shadow
          ? db.listshadowsessions(parseServer(server))
          : db.listsessions(parseServer(server)),
    'read',
  );
  // The Perl programs take DB.pm's lines, drop blanks and turn '*' into blanks.
  const lines = legacyLines({ kind: 'sessions', listing, rows }, traits).map(perlLine);

  // Which state each line needs: x2golistsessions for R and S (if the file is there), the shadow
  // listing for R. Known before the report has come (a launcher is still reading the files).
  const wanted = lines.map((line) => {
    const f = pipeFields(line, 11);
    const status: 'R' | 'S' | undefined = f[4] === 'R' ? 'R' : !shadow && f[4] === 'S' ? 'S' : undefined;
    if (status === undefined) return undefined;
    const sessionId = f[1] ?? '';
    const user = shadow ? shadowUser(sessionId) : stateUser(sessionId, f[11] ?? '');
    return { sessionId, user, status, key: stateKey(user, sessionId) };
  });

  const report = await source.report();
  // A state the report cannot tell is asked for by name, before anything changes. A complete
  // report names every state file of the caller's that this listing can select (the launcher's
  // listed_by, which follows the stores' XSHAD filters): one it does not name is not there.
  const needs: Action[] = [];
  const states: StateClass[] = [];
  for (const w of wanted) {
    const found = w === undefined ? undefined : report.states.get(w.key);
    if (w !== undefined && found === undefined && report.round === 1 && (w.user !== caller || !report.complete)) {
      needs.push({ kind: 'need', user: w.user, sessionId: w.sessionId });
    }
    states.push(found ?? '-');
  }
  if (needs.length > 0) return { stdout: '', stderr: '', exitCode: 0, actions: needs };

  // The status each line's agent asks for: R to S when suspended, S to R (not desktop sharing) when running.
  const asked = wanted.map((w, i): 'R' | 'S' | undefined => {
    if (w?.status === 'R' && states[i] === SUSPENDED) return 'S';
    return !shadow && w?.status === 'S' && states[i] === RUNNING ? 'R' : undefined;
  });
  // The statuses made: the common poll changes nothing and uses the store no further. Only while
  // the row's status is the one listed: the report may have come seconds after the listing, and
  // a session finished meanwhile must stay finished.
  const made = asked.some((a) => a !== undefined)
    ? await withDb(async (db) => {
        const done: ('R' | 'S' | undefined)[] = [];
        for (const [i, status] of asked.entries()) {
          const w = wanted[i];
          done.push(
            status !== undefined && w !== undefined && (await changeStatus(db, status, w.sessionId, w.status)) ? status : undefined,
          );
        }
        return done;
      }, 'write')
    : [];
  const out: string[] = [];
  for (const [i, line] of lines.entries()) {
    const w = wanted[i];
    let printed = line;
    if (w && made[i] === 'S') {
      printed = line.replace('|R|', '|S|');
      actions.push({ kind: 'umount', sessionId: w.sessionId });
      if (!shadow) actions.push({ kind: 'rmforward', sessionId: w.sessionId });
    } else if (made[i] === 'R') {
      printed = line.replace('|S|', '|R|');
    } else if (w && shadow && states[i] === '-') {
      // get_agent_state's warning; the Perl x2golistsessions asks has_agent_state_file first.
      const path = `/tmp/.x2go-${w.user}/C-${w.sessionId}/state`;
      log(WARNING, `${w.sessionId}: state file for this session does not exist: ${path} (this can be ignored during session startups)`);
    }
    out.push(`${printed}\n`);
  }
  return { stdout: out.join(''), stderr: '', exitCode: 0, actions };
}

/**
 * Whether the status was changed from `listed`. A row the caller may not change (on PostgreSQL, a
 * desktop-sharing row its viewer lists but its creator owns; an id the reference stored
 * malformed), or whose status is no longer the one listed, is printed as it is and nothing is
 * run: the reference's SQLite wrapper swallowed the error and printed the change it had not made.
 */
async function changeStatus(db: SessionDb, status: 'R' | 'S', sessionId: string, listed: 'R' | 'S'): Promise<boolean> {
  try {
    await db.changestatus(status, sessionId, listed);
    return true;
  } catch {
    return false;
  }
}
