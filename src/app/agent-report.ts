// What the caller's side (the setgid launcher, or x2godb run by the user) and the command side
// (the resident service, or Node behind the launcher) say to each other for x2golistsessions and
// x2golistshadowsessions. The C side is src/launcher/x2godb-listing.c; keep both in step.
//
// The agent's state files are the user's own files under /tmp, which root must not read along a
// path the user controls: the caller's side reads them with the caller's own rights and reports
// what it found (the report); the command side decides and changes the database, and answers what
// the caller's side then does as the caller (the actions). Nothing in a report is trusted beyond
// the caller's own sessions: the user writes those state files anyway.
//
//   report   the program's first argument, lines separated by "\n":
//            "X2LS1 <round 1|2> <complete|partial> <host name>", then "<class> <user> <session id>"
//            for each state file found: class R (STARTING, RESUMING, RUNNING), S (SUSPENDING,
//            SUSPENDED), O (there, another state or unreadable), - (not there; round 2 only).
//            Round 1 holds what the caller's own directory holds of the sessions the program may
//            list ("partial": not all of it): x2golistsessions ids without XSHAD,
//            x2golistshadowsessions ids with XSHAD in any case, a superset of what each one's
//            query selects on either backend (listed_by in x2godb-listing.c);
//            round 2 adds the files the command side asked for by name.
//            Or only "X2LS1 <round> follows <host name>": the report itself follows the request
//            (the service's X2DB3, protocol.ts), so that the service lists the sessions while the
//            launcher reads the state files; it must name the same round and host.
//   actions  the start of stdout, up to a NUL: "L<0-7> <message>" (a syslog line), "U <id>"
//            (x2goumount-session <id>), "F <id>" (x2gormforward <id>), or, instead of everything
//            else, "N <user> <id>" (read that state file and ask again, with round 2).

import { invalid } from '../model/errors.js';

export const REPORT_MAGIC = 'X2LS1';
export type StateClass = 'R' | 'S' | 'O' | '-';

export interface AgentReport {
  round: 1 | 2;
  /** Round 1: every state file of the caller's own directory that the program can list was read. */
  complete: boolean;
  host: string;
  /** By "<user> <session id>". */
  states: Map<string, StateClass>;
}

export type Action =
  | { kind: 'log'; priority: number; message: string }
  | { kind: 'umount' | 'rmforward'; sessionId: string }
  | { kind: 'need'; user: string; sessionId: string };

/** What a name in a path may hold: no '/', no blank, nothing unprintable, not '.' or '..'. */
export const PATH_NAME = /^(?!\.\.?$)[\x21-\x2e\x30-\x7e]{1,255}$/;

export function stateKey(user: string, sessionId: string): string {
  return `${user} ${sessionId}`;
}

/**
 * Where a listing's report comes from: its first argument, or (that argument only announcing it)
 * `later`, what followed the request. The round and host are known at once: the sessions can be
 * listed before the report has come.
 */
export interface ReportSource {
  round: 1 | 2;
  host: string;
  report(): Promise<AgentReport>;
}

const FOLLOWS = /^X2LS1 ([12]) follows ([\x21-\x7e]{1,64})$/;

export function reportSource(first: string | undefined, later: Promise<string> | undefined): ReportSource {
  const announced = FOLLOWS.exec(first ?? '');
  if (!announced) {
    if (later) throw invalid('an agent state report followed a request that held one');
    const report = parseReport(first);
    return { round: report.round, host: report.host, report: () => Promise.resolve(report) };
  }
  if (!later) throw invalid('the agent state report was announced and did not follow');
  const round = announced[1] === '2' ? 2 : 1;
  const host = announced[2] ?? '';
  return {
    round,
    host,
    report: async () => {
      const text = await later.catch((err: unknown) => {
        throw invalid(`no agent state report: ${err instanceof Error ? err.message : String(err)}`);
      });
      const report = parseReport(text);
      if (report.round !== round || report.host !== host) throw invalid('the agent state report does not match its announcement');
      return report;
    },
  };
}

export function parseReport(text: string | undefined): AgentReport {
  const [header = '', ...lines] = (text ?? '').split('\n');
  const h = /^X2LS1 ([12]) (complete|partial) ([\x21-\x7e]{1,64})$/.exec(header);
  if (!h) throw invalid('malformed agent state report');
  const states = new Map<string, StateClass>();
  for (const line of lines) {
    // "<class> <user> <session id>"; a line that cannot name a session is skipped: it can match no row.
    const cls = line[0];
    const space = line.indexOf(' ', 2);
    if (line[1] !== ' ' || space < 0 || (cls !== 'R' && cls !== 'S' && cls !== 'O' && cls !== '-')) continue;
    const user = line.slice(2, space);
    const sessionId = line.slice(space + 1);
    if (!PATH_NAME.test(user) || !PATH_NAME.test(sessionId)) continue;
    states.set(stateKey(user, sessionId), cls);
  }
  return { round: h[1] === '2' ? 2 : 1, complete: h[2] === 'complete', host: h[3] ?? '', states };
}

export function formatReport(report: AgentReport): string {
  const lines = [`${REPORT_MAGIC} ${report.round} ${report.complete ? 'complete' : 'partial'} ${report.host}`];
  for (const [key, cls] of report.states) lines.push(`${cls} ${key}`);
  return lines.join('\n');
}

function actionLine(a: Action): string {
  switch (a.kind) {
    case 'log':
      return `L${a.priority} ${a.message.replace(/[\0\r\n]+/g, ' ')}`;
    case 'umount':
      return `U ${a.sessionId}`;
    case 'rmforward':
      return `F ${a.sessionId}`;
    case 'need':
      return `N ${a.user} ${a.sessionId}`;
  }
}

export function encodeActions(actions: readonly Action[], stdout: string): string {
  return `${actions.map((a) => `${actionLine(a)}\n`).join('')}\0${stdout}`;
}

export function decodeActions(text: string): { actions: Action[]; stdout: string } {
  const end = text.indexOf('\0');
  const head = end < 0 ? '' : text.slice(0, end);
  const actions: Action[] = [];
  for (const line of head.split('\n')) {
    const log = /^L([0-7]) (.*)$/.exec(line);
    if (log) actions.push({ kind: 'log', priority: Number(log[1]), message: log[2] ?? '' });
    const run = /^([UF]) (\S+)$/.exec(line);
    if (run && PATH_NAME.test(run[2] ?? '')) actions.push({ kind: run[1] === 'U' ? 'umount' : 'rmforward', sessionId: run[2] ?? '' });
    const need = /^N (\S+) (\S+)$/.exec(line);
    if (need && PATH_NAME.test(need[1] ?? '') && PATH_NAME.test(need[2] ?? ''))
      actions.push({ kind: 'need', user: need[1] ?? '', sessionId: need[2] ?? '' });
  }
  return { actions, stdout: end < 0 ? text : text.slice(end + 1) };
}
