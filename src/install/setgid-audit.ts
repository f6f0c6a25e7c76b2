// Finds setgid x2gouser programs that ordinary users can run, other than our launcher: with
// that group a user writes the SQLite file directly, so one such program (the reference's
// wrapper evaluates its first argument as Perl) undoes every check we make. `status` fails on
// any. Searched: every directory holding a file of an installed x2go package (where x2goserver
// installs programs), every path dpkg-statoverride gives group x2gouser, and both ends of every
// dpkg diversion (where a diverted program now lives).

import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, realpathSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { lookupGroupId } from '../system/accounts.js';

function lines(file: string, args: string[]): string[] {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 }).split('\n');
  } catch {
    return [];
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** Every directory from / down to `path`'s own can be entered by some non-root user. */
function reachable(path: string): boolean {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const st = lstatOrUndefined(dir);
    if (!st) return false;
    // A symlinked directory on the way is judged by its target.
    const real = st.isSymbolicLink() ? lstatOrUndefined(realpathSync(dir)) : st;
    if (!real) return false;
    const searchable =
      (real.mode & 0o001) !== 0 || ((real.mode & 0o010) !== 0 && real.gid !== 0) || ((real.mode & 0o100) !== 0 && real.uid !== 0);
    if (!searchable) return false;
    if (dir === '/') return true;
  }
}

/** Installed packages whose name says x2go, and the paths of their files. */
function x2goPackageFiles(): string[] {
  const installed = lines('/usr/bin/dpkg-query', ['-W', '-f=${Package}\t${db:Status-Abbrev}\n'])
    .map((l) => l.split('\t'))
    .filter(([name, status]) => name !== undefined && /x2go/.test(name) && status?.startsWith('ii'))
    .map(([name]) => name as string);
  return installed.length ? lines('/usr/bin/dpkg-query', ['-L', ...installed]).filter((l) => l.startsWith('/')) : [];
}

export function candidatePaths(group: string): Set<string> {
  const paths = new Set<string>();
  const dirs = new Set<string>();
  for (const file of x2goPackageFiles()) {
    paths.add(file);
    dirs.add(dirname(file));
  }
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries) paths.add(join(dir, entry));
  }
  for (const line of lines('/usr/bin/dpkg-statoverride', ['--list'])) {
    const [, owner, path] = /^\S+ (\S+) \d+ (\/.*)$/.exec(line) ?? [];
    if (owner === group && path) paths.add(path);
  }
  for (const line of lines('/usr/bin/dpkg-divert', ['--list'])) {
    const [, from, to] = /diversion of (\/.*) to (\/.*?)(?: by \S+)?$/.exec(line) ?? [];
    if (from && to) paths.add(from).add(to);
  }
  return paths;
}

/**
 * The setgid `group` (by gid) programs any user can run, except `ours` (real paths). Sorted.
 */
export function exposedSetgidPrograms(group: string, gid: number, ours: readonly string[]): string[] {
  const exposed: string[] = [];
  for (const path of candidatePaths(group)) {
    const st = lstatOrUndefined(path);
    if (!st?.isFile() || (st.mode & 0o2000) === 0 || st.gid !== gid) continue;
    const runnable = (st.mode & 0o001) !== 0 || ((st.mode & 0o100) !== 0 && st.uid !== 0);
    if (!runnable || !reachable(path)) continue;
    if (ours.includes(realpathSync(path))) continue;
    exposed.push(path);
  }
  return exposed.sort();
}

/** The setgid x2gouser programs any user can run other than the launcher installed in `prefix`. */
export function exposedBesidesLauncher(prefix: string): string[] {
  const gid = lookupGroupId('x2gouser');
  if (gid === undefined) return [];
  let launcher = join(prefix, 'x2godb-launcher');
  try {
    launcher = realpathSync(launcher);
  } catch {
    // not installed: every setgid x2gouser program counts
  }
  return exposedSetgidPrograms('x2gouser', gid, [launcher]);
}
