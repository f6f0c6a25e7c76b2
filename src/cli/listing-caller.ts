// The caller's side of x2golistsessions and x2golistshadowsessions (agent-report.ts) when our
// program runs as the user without the setgid launcher (from dist/helpers, or x2godb as a
// user): no privileges, so it reads the agent's state files itself and runs the actions itself.
// Through the launcher the same is done in C (src/launcher/listing.c), before any Node starts.
// Only loaded for these two programs.

import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { hostname } from 'node:os';
import { type Action, type AgentReport, decodeActions, formatReport, PATH_NAME, stateKey, type StateClass } from '../app/agent-report.js';
import type { Response } from '../app/dispatch.js';
import { lookupUser } from '../system/accounts.js';
import { writeAll } from './write-out.js';

const STATES: Record<string, StateClass> = {
  STARTING: 'R',
  RESUMING: 'R',
  RUNNING: 'R',
  SUSPENDING: 'S',
  SUSPENDED: 'S',
};

function ownedDir(path: string, uid: number): boolean {
  try {
    const st = lstatSync(path);
    return st.isDirectory() && st.uid === uid;
  } catch {
    return false;
  }
}

/**
 * The state of `sessionId`'s agent as X2Go::Server::Agent::NX finds it, read with our own rights:
 * no link followed, every step owned by `user`. '-' when there is none (or none we accept).
 */
export function readAgentState(user: string, sessionId: string): StateClass {
  if (!PATH_NAME.test(user) || !PATH_NAME.test(sessionId)) return '-';
  const uid = lookupUser(user)?.uid;
  if (uid === undefined) return '-';
  const inst = `/tmp-inst/${user}/.x2go-${user}`;
  const base = ownedDir(inst, uid) ? inst : `/tmp/.x2go-${user}`;
  const dir = `${base}/C-${sessionId}`;
  if (!ownedDir(base, uid) || !ownedDir(dir, uid)) return '-';
  let fd: number;
  try {
    fd = openSync(`${dir}/state`, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return '-';
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== uid) return '-';
    const buffer = Buffer.alloc(16);
    const text = buffer.subarray(0, readSync(fd, buffer, 0, 16, 0)).toString('latin1');
    // Perl's <F>: the first line, with its newline if it has one.
    const nl = text.indexOf('\n');
    return STATES[nl < 0 ? text : text.slice(0, nl + 1)] ?? 'O';
  } catch {
    return 'O';
  } finally {
    closeSync(fd);
  }
}

/** The first round's report: nothing read yet, so the command side names every file it needs. */
export function firstReport(): string {
  return formatReport({ round: 1, complete: false, host: hostname(), states: new Map() });
}

/** The second round's: the files the first answer asked for. */
export function secondReport(needs: readonly Action[]): string {
  const states = new Map<string, StateClass>();
  for (const n of needs) if (n.kind === 'need') states.set(stateKey(n.user, n.sessionId), readAgentState(n.user, n.sessionId));
  const report: AgentReport = { round: 2, complete: true, host: hostname(), states };
  return formatReport(report);
}

/** Whether an answer asks for state files. */
export function needsOf(res: Response): Action[] {
  return decodeActions(res.stdout).actions.filter((a) => a.kind === 'need');
}

const PRIORITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

/** Does what the answer says, as the caller, then prints it as the Perl program prints. */
export function finish(program: string, res: Response): number {
  const { actions, stdout } = decodeActions(res.stdout);
  let libexec: string | undefined;
  for (const a of actions) {
    if (a.kind === 'log') {
      spawnSync('logger', ['-t', `/usr/bin/${program}`, `--id=${process.pid}`, '-p', `user.${PRIORITIES[a.priority]}`, '--', a.message], {
        stdio: 'ignore',
      });
    } else if (a.kind === 'umount') {
      spawnSync('x2goumount-session', [a.sessionId], { stdio: 'inherit' });
    } else if (a.kind === 'rmforward') {
      if (libexec === undefined) {
        try {
          libexec = execFileSync('x2gopath', ['libexec'], { encoding: 'latin1', stdio: ['ignore', 'pipe', 'inherit'] });
        } catch {
          libexec = '';
        }
      }
      spawnSync(`${libexec}/x2gormforward`, [a.sessionId], { stdio: 'inherit' });
    }
  }
  if (stdout) writeAll(1, stdout);
  if (res.stderr) writeAll(2, res.stderr);
  return res.exitCode;
}
