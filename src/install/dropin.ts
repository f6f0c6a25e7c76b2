// Putting x2go-sessiondb under an installed x2goserver, and taking it away again, with
// dpkg-divert: each file of the reference that we replace is moved by dpkg (so that package
// upgrades install theirs there, not over ours) and ours takes its place; uninstalling removes
// ours and lets dpkg move the reference's back, exactly as it was.
//
// The reference's files go into <prefix>/reference/<their path>, a directory only root may
// enter. Renamed beside the original (as before), the SQLite wrapper kept its setgid x2gouser
// mode, which the package's dpkg-statoverride puts back on every upgrade, and it evaluates its
// first argument as Perl: any user got the group. Behind a 0700 directory no user can run a
// diverted file whatever its mode, dpkg never touches a directory it does not own, and
// uninstalling gives dpkg back each file with the mode it had.

import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { LISTING_PROGRAMS, REFERENCE_HELPERS } from '../app/helper-names.js';
import { WRAPPER_NAME } from './install-launcher.js';

export const PACKAGE = 'x2go-sessiondb';
/** Where installs before the root-only directory diverted to (beside the file); `install` moves them. */
export const LEGACY_DIVERTED_SUFFIX = '.x2go-reference';
/** The x2goserver versions whose files we know; others need --force. */
export const KNOWN_UPSTREAM = ['4.1.0.3'];
export const REFERENCE_PACKAGES = ['x2goserver', 'libx2go-server-db-perl'];

export type Replacement =
  /** A link to one of our programs in the prefix. */
  | { kind: 'link'; path: string; target: (prefix: string) => string }
  /** Our Perl module, with the launcher's path filled in. */
  | { kind: 'perl-module'; path: string };

const LIB = '/usr/lib/x2go';
export const DB_PM = '/usr/share/perl5/X2Go/Server/DB.pm';

/** Every file of the reference we take over. */
export const REPLACEMENTS: readonly Replacement[] = [
  { kind: 'link', path: join(LIB, WRAPPER_NAME), target: (p) => join(p, 'x2godb-launcher') },
  ...REFERENCE_HELPERS.filter((name) => name !== 'x2gogetservers').map(
    (name): Replacement => ({ kind: 'link', path: join(LIB, name), target: (p) => join(p, 'x2godb-launcher') }),
  ),
  { kind: 'link', path: '/usr/bin/x2gogetservers', target: (p) => join(p, 'x2godb-launcher') },
  // The reference's Perl programs the clients poll most (issue 15): answered like the helpers.
  ...LISTING_PROGRAMS.map(
    (name): Replacement => ({ kind: 'link', path: join('/usr/bin', name), target: (p) => join(p, 'x2godb-launcher') }),
  ),
  // Not named by the reference's helpers, but what an administrator runs: ours manages both backends.
  { kind: 'link', path: '/usr/sbin/x2godbadmin', target: (p) => join(p, 'bin', 'x2godbadmin') },
  { kind: 'perl-module', path: DB_PM },
];

export function dpkgDivert(args: string[]): string {
  return execFileSync('/usr/bin/dpkg-divert', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The package that diverts `path`, if any. */
export function divertedBy(path: string): string | undefined {
  const owner = dpkgDivert(['--listpackage', path]).trim();
  return owner === '' ? undefined : owner;
}

export function installedVersion(pkg: string): string | undefined {
  try {
    return (
      execFileSync('/usr/bin/dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() ||
      undefined
    );
  } catch {
    return undefined;
  }
}

/** Debian's version without epoch and revision: 4.1.0.3-7+deb12u1 -> 4.1.0.3. */
export function upstreamVersion(version: string): string {
  return version.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
}

export function perlModule(template: string, launcherAsX2godb: string): string {
  if (!/^[A-Za-z0-9/._+-]+$/.test(launcherAsX2godb)) throw new Error(`unsafe path ${launcherAsX2godb}`);
  return template.replace('@X2GODB@', launcherAsX2godb);
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

export function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether the file at `path` is ours (a link into the prefix, or our module). */
export function isOurs(r: Replacement, prefix: string): boolean {
  if (r.kind === 'link') return isSymlink(r.path) && readlinkSync(r.path) === r.target(prefix);
  try {
    return readFileSync(r.path, 'utf8').includes('X2Go::Server::DB as x2go-sessiondb provides it');
  } catch {
    return false;
  }
}

function place(r: Replacement, prefix: string, moduleText: string): void {
  const pending = `${r.path}.x2go-sessiondb-new`;
  rmSync(pending, { force: true });
  if (r.kind === 'link') {
    symlinkSync(r.target(prefix), pending);
  } else {
    writeFileSync(pending, moduleText);
    chownSync(pending, 0, 0);
    chmodSync(pending, 0o644);
  }
  renameSync(pending, r.path);
}

/** The root-only directory under the prefix that holds the reference's diverted files. */
export function referenceDir(prefix: string): string {
  return join(prefix, 'reference');
}

/** Where `path` of the reference is kept while ours is installed. */
export function divertedPath(prefix: string, path: string): string {
  return join(referenceDir(prefix), path);
}

/** Creates (or repairs) the reference directory: root:root 0700, a real directory. Says what it repaired. */
export function ensureReferenceDir(prefix: string): string[] {
  const dir = referenceDir(prefix);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory; remove it first`);
  if (st.uid === 0 && st.gid === 0 && (st.mode & 0o7777) === 0o700) return [];
  chownSync(dir, 0, 0);
  chmodSync(dir, 0o700);
  return [
    `${dir} was ${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}; root:root 700 again, so that no user can run the reference's programs`,
  ];
}

/** Where dpkg keeps `path`'s package file: the diversion's target, or `path` itself. */
export function trueName(path: string): string {
  return dpkgDivert(['--truename', path]).trim();
}

/** A move that keeps owner and mode even across file systems (the prefix may be elsewhere). */
function moveFile(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    const st = statSync(from);
    copyFileSync(from, to);
    // chown clears setuid/setgid bits, so the mode comes after it.
    chownSync(to, st.uid, st.gid);
    chmodSync(to, st.mode & 0o7777);
    unlinkSync(from);
  }
}

/**
 * Diverts `path` into the reference directory (once). A diversion of ours to anywhere else (an
 * install made before the directory existed) is moved there. One phrase saying what was done.
 */
export function divertIntoReferenceDir(path: string, prefix: string): string {
  const owner = divertedBy(path);
  if (owner !== undefined && owner !== PACKAGE) throw new Error(`${path} is already diverted by ${owner}; not touching it`);
  const target = divertedPath(prefix, path);
  mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
  if (owner === undefined) {
    dpkgDivert(['--package', PACKAGE, '--rename', '--divert', target, '--add', path]);
    return `the reference's moved to ${target}`;
  }
  const current = trueName(path);
  if (current === target) return `the reference's kept in ${target}`;
  // dpkg-divert cannot change a diversion's target, and --rename would refuse to move the
  // file back over ours: change the record, and move the file ourselves, keeping its mode.
  dpkgDivert(['--package', PACKAGE, '--no-rename', '--divert', current, '--remove', path]);
  if (exists(current)) moveFile(current, target);
  dpkgDivert(['--package', PACKAGE, '--no-rename', '--divert', target, '--add', path]);
  return `the reference's moved from ${current} to ${target}`;
}

/** Reverts our diversion of `path`: dpkg moves the reference's file back (ours must be gone). */
export function undivertFromReferenceDir(path: string): void {
  dpkgDivert(['--package', PACKAGE, '--rename', '--divert', trueName(path), '--remove', path]);
}

/** Diverts each reference file (once) and puts ours in its place. One line per file. */
export function divert(prefix: string, moduleTemplate: string): string[] {
  const moduleText = perlModule(moduleTemplate, join(prefix, 'bin', 'x2godb'));
  const lines = ensureReferenceDir(prefix);
  for (const r of REPLACEMENTS) {
    const moved = divertIntoReferenceDir(r.path, prefix);
    const already = isOurs(r, prefix);
    place(r, prefix, moduleText);
    lines.push(`${r.path}: ${already ? 'already ours' : 'ours now'}, ${moved}`);
  }
  return lines;
}

/** Removes ours and lets dpkg put each reference file back. One line per file. */
export function undivert(prefix: string): string[] {
  const lines: string[] = [];
  for (const r of REPLACEMENTS) {
    if (divertedBy(r.path) !== PACKAGE) {
      lines.push(`${r.path}: not diverted by ${PACKAGE}, left alone`);
      continue;
    }
    if (exists(r.path)) {
      if (!isOurs(r, prefix)) throw new Error(`${r.path} is neither ours nor the reference's; remove it by hand first`);
      rmSync(r.path);
    }
    undivertFromReferenceDir(r.path);
    lines.push(`${r.path}: the reference's again`);
  }
  return lines;
}
