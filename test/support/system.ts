// Real UNIX users for the isolation and differential suites, and running programs as them.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { lookupUser, type Account } from '../../src/system/accounts.js';

export interface Result {
  stdout: string;
  stderr: string;
  code: number;
  /** With timeWith(): the program's own time, from its fork to its exit. */
  ms?: number;
}

let timer: string | undefined;

/**
 * Benchmarks: run() starts every program under `timeit` (bench/timeit.c), which times it
 * without Node's own cost of spawning a process. undefined turns it off.
 */
export function timeWith(timeit: string | undefined): void {
  timer = timeit;
}

const TIMEIT_LINE = /\ntimeit-ns (\d+)\n$/;

/**
 * Creates the account (as root) unless it exists; test users get a home and no password.
 * Names useradd would refuse (quotes, spaces, non-ASCII) are allowed on purpose, as LDAP or a
 * lax administrator can produce them; `primaryGroup` makes that group the user's own.
 */
export function ensureUser(name: string, options: { primaryGroup?: string; groups?: string[] } = {}): Account {
  const existing = lookupUser(name);
  if (existing) return existing;
  execFileSync('/usr/sbin/useradd', [
    '--badname',
    '--create-home',
    '--shell',
    '/bin/sh',
    ...(options.primaryGroup ? ['--gid', options.primaryGroup] : []),
    ...(options.groups?.length ? ['--groups', options.groups.join(',')] : []),
    name,
  ]);
  const created = lookupUser(name);
  if (!created) throw new Error(`useradd ${name} did not create the account`);
  return created;
}

export function ensureGroup(name: string): void {
  execFileSync('/usr/sbin/groupadd', ['--force', name]);
}

export function removeUser(name: string): void {
  spawnSync('/usr/sbin/userdel', ['--remove', name], { stdio: 'ignore' });
}

function userEnv(account: Account | undefined, extra: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
  };
  if (account) Object.assign(base, { HOME: account.home, USER: account.name, LOGNAME: account.name });
  else Object.assign(base, { HOME: process.env.HOME ?? '/root', USER: process.env.USER ?? 'root' });
  return { ...base, ...extra };
}

export interface RunOptions {
  /** Run as this user (the test runs as root); the current user when undefined. */
  as?: Account;
  env?: Record<string, string>;
  cwd?: string;
}

export function run(file: string, args: readonly string[], options: RunOptions = {}): Result {
  const [command, argv] = timer ? [timer, [file, ...args]] : [file, args];
  const r = spawnSync(command, argv, {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: userEnv(options.as, options.env ?? {}),
    cwd: options.cwd ?? '/',
    ...(options.as ? { uid: options.as.uid, gid: options.as.gid } : {}),
  });
  if (r.error) throw r.error;
  const timed = timer ? TIMEIT_LINE.exec(r.stderr) : null;
  if (timed) {
    return { stdout: r.stdout, stderr: r.stderr.slice(0, timed.index), code: r.status ?? -1, ms: Number(timed[1]) / 1e6 };
  }
  return { stdout: r.stdout, stderr: r.stderr, code: r.status ?? -1 };
}

/** The same, without blocking the event loop: for many processes at once. */
export function runAsync(file: string, args: readonly string[], options: RunOptions = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: userEnv(options.as, options.env ?? {}),
      cwd: options.cwd ?? '/',
      ...(options.as ? { uid: options.as.uid, gid: options.as.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code: code ?? -1 }));
  });
}
