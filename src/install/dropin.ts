// Putting x2go-sessiondb under an installed x2goserver, and taking it away again, with
// dpkg-divert: each file of the reference that we replace is renamed by dpkg (so that package
// upgrades install theirs beside, not over ours) and ours takes its place; uninstalling removes
// ours and lets dpkg rename the reference's back, exactly as it was.

import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, chmodSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { REFERENCE_HELPERS } from '../cli/helpers.js';
import { WRAPPER_NAME } from './install-launcher.js';

export const PACKAGE = 'x2go-sessiondb';
/** What dpkg-divert renames the reference's file to. */
export const DIVERTED_SUFFIX = '.x2go-reference';
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
  ...REFERENCE_HELPERS.filter((name) => name !== 'x2gogetservers')
    .map((name): Replacement => ({ kind: 'link', path: join(LIB, name), target: (p) => join(p, 'x2godb-launcher') })),
  { kind: 'link', path: '/usr/bin/x2gogetservers', target: (p) => join(p, 'x2godb-launcher') },
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
    return execFileSync('/usr/bin/dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
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

function exists(path: string): boolean {
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

/** Diverts each reference file (once) and puts ours in its place. One line per file. */
export function divert(prefix: string, moduleTemplate: string): string[] {
  const moduleText = perlModule(moduleTemplate, join(prefix, 'bin', 'x2godb'));
  const lines: string[] = [];
  for (const r of REPLACEMENTS) {
    const owner = divertedBy(r.path);
    if (owner !== undefined && owner !== PACKAGE) throw new Error(`${r.path} is already diverted by ${owner}; not touching it`);
    if (owner === undefined) {
      dpkgDivert(['--package', PACKAGE, '--rename', '--divert', `${r.path}${DIVERTED_SUFFIX}`, '--add', r.path]);
    }
    const already = isOurs(r, prefix);
    place(r, prefix, moduleText);
    lines.push(`${r.path}: ${already ? 'already ours' : 'ours now'}, the reference's kept as ${r.path}${DIVERTED_SUFFIX}`);
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
    dpkgDivert(['--package', PACKAGE, '--rename', '--divert', `${r.path}${DIVERTED_SUFFIX}`, '--remove', r.path]);
    lines.push(`${r.path}: the reference's again`);
  }
  return lines;
}
