// What doctor learns from this host rather than from the database: whether a session's agent
// still runs (as x2gocleansessions decides it: the session id in /proc/<pid>/cmdline), and
// which X displays are held by a socket or a lock file.

import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface XPaths {
  /** Where X servers put their sockets (X<n>): /tmp/.X11-unix. */
  socketDir: string;
  /** Where X servers put their lock files (.X<n>-lock): /tmp. */
  lockDir: string;
}

export const X_PATHS: XPaths = { socketDir: '/tmp/.X11-unix', lockDir: '/tmp' };

/** The agent of `sessionId` runs as `pid`: its command line names the session. */
export function agentRuns(pid: number | null, sessionId: string): boolean {
  if (pid === null || pid < 1) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(sessionId);
  } catch {
    return false;
  }
}

function present(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}

export function displayHeld(display: number, x: XPaths): boolean {
  return present(join(x.socketDir, `X${display}`)) || present(join(x.lockDir, `.X${display}-lock`));
}

function numbers(dir: string, pattern: RegExp): number[] {
  try {
    return readdirSync(dir).flatMap((name) => {
      const m = pattern.exec(name);
      return m ? [Number(m[1])] : [];
    });
  } catch {
    return [];
  }
}

/** Displays held on this host by a socket or a lock file, ascending. */
export function heldDisplays(x: XPaths): number[] {
  return [...new Set([...numbers(x.socketDir, /^X(\d{1,5})$/), ...numbers(x.lockDir, /^\.X(\d{1,5})-lock$/)])].sort((a, b) => a - b);
}

/** Whether dpkg knows the file as a package's. */
export function ownedByPackage(path: string): boolean {
  return spawnSync('dpkg-query', ['--search', path], { stdio: 'ignore' }).status === 0;
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * After a session whose agent died is ended: its X socket and lock file, as x2gocleansessions
 * removes them, unless the lock names a process that runs (another X server took the display).
 * unlink removes a planted link itself, never its target. Returns the files removed.
 */
export function removeStaleX(display: number, x: XPaths): string[] {
  const lock = join(x.lockDir, `.X${display}-lock`);
  let holder: number | undefined;
  try {
    holder = Number.parseInt(readFileSync(lock, 'latin1').trim(), 10);
  } catch {
    holder = undefined;
  }
  if (holder !== undefined && holder > 0 && processRuns(holder)) return [];
  const removed: string[] = [];
  for (const file of [join(x.socketDir, `X${display}`), lock]) {
    if (!present(file)) continue;
    rmSync(file, { force: true });
    removed.push(file);
  }
  return removed;
}
