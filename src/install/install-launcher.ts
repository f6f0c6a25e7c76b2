// Installing the built programs into a prefix owned by root, building the setgid launcher
// there with the system's cc (paths compiled in), and linking one entry per reference helper
// name to it. Run as root from a built checkout (dist/); the command is `x2go-sessiondb
// install` (main.ts), which then puts them in place of the reference's files (dropin.ts).
//
// Layout under the prefix (default /usr/lib/x2go-sessiondb):
//   x2godb.cjs (loader), x2godb-main.cjs(.cache), x2godbadmin.cjs, x2go-sessiondb.cjs,
//   x2gosessiond.cjs, x2gosessiond-runas.cjs, better_sqlite3.node, x2godb-launcher.c, peercred.c, DB.pm
//                                                       root:root, not writable by others
//   peercred.node (the service's SO_PEERCRED addon, built here with the system's cc)
//   x2godb-launcher                                     root:x2gouser 2755
//   helpers/<reference helper name> -> ../x2godb-launcher
//   bin/x2godb -> ../x2godb-launcher, bin/x2godbadmin, bin/x2go-sessiondb, bin/x2gosessiond -> the .cjs files

import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { DEFAULT_CONFIG_DIR } from '../config/config.js';
import { PROGRAM_NAMES } from '../app/helper-names.js';
import { CODE_CACHE, MAIN_BUNDLE, TRAIN_FLAG } from '../cli/code-cache.js';
import { lookupGroupId } from '../system/accounts.js';
import { DEFAULT_SOCKET } from '../service/protocol.js';

export const DEFAULT_PREFIX = '/usr/lib/x2go-sessiondb';
/** Everything of dist/ an installation needs, itself included (uninstall works without the checkout). */
export const FILES = [
  'x2godb.cjs',
  MAIN_BUNDLE,
  'x2godbadmin.cjs',
  'x2go-sessiondb.cjs',
  'x2gosessiond.cjs',
  'x2gosessiond-runas.cjs',
  'better_sqlite3.node',
  'x2godb-launcher.c',
  'x2godb-listing.c',
  'peercred.c',
  'DB.pm',
];
const EXECUTABLES = new Set(['x2godb.cjs', 'x2godbadmin.cjs', 'x2go-sessiondb.cjs', 'x2gosessiond.cjs', 'x2gosessiond-runas.cjs']);
/** The reference's wrapper name: x2goserver's DB.pm runs it for every SQLite operation. */
export const WRAPPER_NAME = 'libx2go-server-db-sqlite3-wrapper';

export class InstallError extends Error {}

/** Paths go into C string literals and argv: only plain characters, absolute. */
function safePath(path: string, what: string): string {
  if (!isAbsolute(path) || !/^[A-Za-z0-9/._+-]+$/.test(path) || path.includes('/../')) {
    throw new InstallError(`${what} must be an absolute path of letters, digits and / . _ + - (got ${path})`);
  }
  return path;
}

/** Nothing a non-root user can replace may be run by the setgid launcher. */
function assertRootOwned(path: string, what: string): void {
  const st = statSync(path);
  if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new InstallError(`${what} ${path} must be owned by root and not writable by group or others`);
  }
}

function placeFile(from: string, to: string, mode: number): void {
  const tmp = `${to}.new`;
  copyFileSync(from, tmp);
  chownSync(tmp, 0, 0);
  chmodSync(tmp, mode);
  renameSync(tmp, to);
}

function placeLink(target: string, link: string): void {
  if (existsSync(link) || isSymlink(link)) {
    if (isSymlink(link) && readlinkSync(link) === target) return;
    rmSync(link);
  }
  symlinkSync(target, link);
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

export interface LauncherPaths {
  node: string;
  entry: string;
  configDir: string;
  socket: string;
}

/**
 * Compiles the launcher with `paths` in it, hardened (PIE, fortify, stack protector, full
 * RELRO). Owner and mode are the caller's: the installer's setgid below, the package's
 * dpkg-statoverride in its postinst (scripts/build-deb.ts builds it with this at package build).
 */
export function compileLauncher(source: string, target: string, paths: LauncherPaths): void {
  execFileSync(
    '/usr/bin/cc',
    [
      '-O2',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-fPIE',
      '-pie',
      '-D_FORTIFY_SOURCE=2',
      '-fstack-protector-strong',
      '-Wl,-z,relro',
      '-Wl,-z,now',
      `-DX2GODB_NODE="${paths.node}"`,
      `-DX2GODB_ENTRY="${paths.entry}"`,
      `-DX2GODB_CONFIG_DIR="${paths.configDir}"`,
      `-DX2GODB_SOCKET="${paths.socket}"`,
      '-o',
      target,
      source,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
}

function buildLauncher(source: string, target: string, paths: LauncherPaths, gid: number): void {
  const tmp = `${target}.new`;
  compileLauncher(source, tmp, paths);
  // chown clears the setgid bit, so it comes first.
  chownSync(tmp, 0, gid);
  chmodSync(tmp, 0o2755);
  renameSync(tmp, target);
}

/**
 * The service's SO_PEERCRED addon (src/native/peercred.c, see src/service/peer.ts), compiled
 * like the launcher: from source, with the headers of the node that will load it.
 */
export function compilePeerCredAddon(source: string, target: string, node: string): string {
  const headers = [join(dirname(dirname(node)), 'include', 'node'), '/usr/include/node'].find((dir) => existsSync(join(dir, 'node_api.h')));
  if (!headers)
    throw new InstallError(`no Node.js headers (node_api.h) beside ${node} or in /usr/include/node; install the package that has them`);
  execFileSync(
    '/usr/bin/cc',
    [
      '-shared',
      '-fPIC',
      '-O2',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-fstack-protector-strong',
      '-D_FORTIFY_SOURCE=2',
      '-Wl,-z,relro',
      '-Wl,-z,now',
      `-I${headers}`,
      '-o',
      target,
      source,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  return headers;
}

function buildPeerCredAddon(source: string, target: string, node: string): string {
  const tmp = `${target}.new`;
  const headers = compilePeerCredAddon(source, tmp, node);
  chownSync(tmp, 0, 0);
  chmodSync(tmp, 0o644);
  renameSync(tmp, target);
  return headers;
}

export interface PrefixOptions {
  prefix?: string | undefined;
  configDir?: string | undefined;
  node?: string | undefined;
  /** The resident service's socket, compiled into the launcher (default DEFAULT_SOCKET). */
  socket?: string | undefined;
}

/** The prefix, validated: the path compiled into the launcher and written into DB.pm. */
export function prefixOf(options: PrefixOptions): string {
  return safePath(options.prefix ?? DEFAULT_PREFIX, '--prefix');
}

/**
 * Installs the programs of `from` (a dist/ directory) under the prefix, builds the launcher
 * and links the helper names. Run as root. One line per action.
 */
export function installPrefix(options: PrefixOptions, from: string): string[] {
  const prefix = prefixOf(options);
  const configDir = safePath(options.configDir ?? DEFAULT_CONFIG_DIR, '--config');
  const node = safePath(realpathSync(options.node ?? process.execPath), '--node');
  const socket = safePath(options.socket ?? DEFAULT_SOCKET, '--socket');
  // sockaddr_un holds 108 bytes with the final NUL.
  if (Buffer.byteLength(socket) > 107) throw new InstallError(`--socket ${socket} is longer than a Unix socket path may be`);
  assertRootOwned(node, 'node');
  const gid = lookupGroupId('x2gouser');
  if (gid === undefined) throw new InstallError('group x2gouser does not exist (install x2goserver, or: groupadd --system x2gouser)');

  const lines: string[] = [];
  mkdirSync(join(prefix, 'helpers'), { recursive: true, mode: 0o755 });
  mkdirSync(join(prefix, 'bin'), { recursive: true, mode: 0o755 });
  for (const dir of [prefix, join(prefix, 'helpers'), join(prefix, 'bin')]) {
    chownSync(dir, 0, 0);
    chmodSync(dir, 0o755);
  }
  for (const file of FILES) {
    if (join(from, file) !== join(prefix, file)) placeFile(join(from, file), join(prefix, file), EXECUTABLES.has(file) ? 0o755 : 0o644);
  }
  lines.push(`installed ${FILES.join(', ')} into ${prefix}`);

  lines.push(trainCodeCache(prefix, node, configDir));

  const launcher = join(prefix, 'x2godb-launcher');
  buildLauncher(join(from, 'x2godb-launcher.c'), launcher, { node, entry: join(prefix, 'x2godb.cjs'), configDir, socket }, gid);
  lines.push(
    `built ${launcher} (root:x2gouser 2755) asking the service at ${socket} first, else running ${node} ${join(prefix, 'x2godb.cjs')}, config ${configDir}`,
  );

  const addon = join(prefix, 'peercred.node');
  const headers = buildPeerCredAddon(join(from, 'peercred.c'), addon, node);
  lines.push(`built ${addon} (the service's SO_PEERCRED addon) with the headers in ${headers}`);

  lines.push(...linkEntries(prefix));
  return lines;
}

/**
 * V8's code cache of the main bundle. It must come from the node the launcher runs (see
 * src/cli/loader.ts): the package trains it in its postinst, not at build.
 */
export function trainCodeCache(prefix: string, node: string, configDir: string): string {
  execFileSync(node, [join(prefix, 'x2godb.cjs'), TRAIN_FLAG, configDir], { stdio: ['ignore', 'ignore', 'inherit'], env: {} });
  chmodSync(join(prefix, CODE_CACHE), 0o644);
  return `trained the code cache ${join(prefix, CODE_CACHE)} with ${node}`;
}

/** helpers/<name> and bin/<program>, relative links (the package ships them as they are here). */
export function linkEntries(prefix: string): string[] {
  for (const dir of ['helpers', 'bin']) mkdirSync(join(prefix, dir), { recursive: true, mode: 0o755 });
  for (const name of [...PROGRAM_NAMES, WRAPPER_NAME]) placeLink('../x2godb-launcher', join(prefix, 'helpers', name));
  placeLink('../x2godb-launcher', join(prefix, 'bin', 'x2godb'));
  placeLink('../x2godbadmin.cjs', join(prefix, 'bin', 'x2godbadmin'));
  placeLink('../x2go-sessiondb.cjs', join(prefix, 'bin', 'x2go-sessiondb'));
  placeLink('../x2gosessiond.cjs', join(prefix, 'bin', 'x2gosessiond'));
  return [
    `linked ${PROGRAM_NAMES.length + 1} helper names in ${join(prefix, 'helpers')} to the launcher`,
    `linked ${join(prefix, 'bin')}/x2godb, x2godbadmin, x2go-sessiondb and x2gosessiond`,
  ];
}

/** Removes everything installPrefix put under the prefix. */
export function removePrefix(options: PrefixOptions): string[] {
  const prefix = prefixOf(options);
  if (!existsSync(join(prefix, 'x2godb-launcher')) && !existsSync(join(prefix, 'x2godb.cjs'))) {
    return [`${prefix}: nothing of ours there`];
  }
  rmSync(prefix, { recursive: true, force: true });
  return [`removed ${prefix}`];
}
