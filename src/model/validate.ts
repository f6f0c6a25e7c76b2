// Validation of every value that enters from outside (command arguments, later socket requests).
// Each parser either returns the typed value or throws one `invalid` error naming the argument.
// Unlike the reference's sanitizer, nothing is silently rewritten: a value that would need
// rewriting is refused, so what is stored is exactly what the caller asked for.

import { invalid } from './errors.js';
import type { SessionStatus } from './types.js';

// Column widths of the reference schema: longer values would be truncated by PostgreSQL.
export const MAX_SESSION_ID = 500;
export const MAX_SERVER = 100;
export const MAX_USER = 100;
export const MAX_MOUNT_PATH = 512;
/** The reference stores the agent's MIT-MAGIC-COOKIE (32 hex digits from mcookie) in char(33). */
export const MAX_COOKIE = 33;
/** x2gogetfreeport maps display N to TCP port 6000+N, so displays end at 65535 - 6000. */
export const MAX_DISPLAY = 65535 - 6000;
export const MAX_PORT = 65535;
/** More than any X2Go session uses (graphics, sound, file sharing, two telekinesis ports). */
export const MAX_PORTS_PER_SESSION = 16;
/** Linux caps pid_max at 2^22. */
export const MAX_PID = 4194304;

/** What is safe to show of a rejected value: printable ASCII, shortened. */
export function shown(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 60 ? `${printable.slice(0, 57)}...` : printable;
}

const SID_CHARS = /^[a-zA-Z0-9._\-@]+$/;
// The reference's `x2gosid` format: <user>-<display>-<unix time>_st<type><command>_dp<depth>[...]
const SID_FORMAT = /^([a-zA-Z0-9._][a-zA-Z0-9._\-@]*)-(\d{2,4})-(\d{9,12})_[a-zA-Z0-9._-]*_dp\d{1,2}[a-zA-Z0-9._-]*$/;

export function parseSessionId(value: string, name = 'session_id'): string {
  if (value.length === 0) throw invalid(`${name} is empty`);
  if (value.length > MAX_SESSION_ID) throw invalid(`${name} is longer than ${MAX_SESSION_ID} characters`);
  if (!SID_CHARS.test(value) || !SID_FORMAT.test(value)) {
    throw invalid(`${name} '${shown(value)}' is not an X2Go session id (user-display-time_st<type>..._dp<depth>)`);
  }
  return value;
}

function parseInteger(value: string, name: string, min: number, max: number): number {
  if (!/^-?\d{1,10}$/.test(value)) throw invalid(`${name} '${shown(value)}' is not a whole number`);
  const n = Number(value);
  if (n < min || n > max) throw invalid(`${name} ${n} is out of range (${min}-${max})`);
  return n;
}

export function parseDisplay(value: string, name = 'display'): number {
  return parseInteger(value, name, 1, MAX_DISPLAY);
}

export function parsePort(value: string, name = 'port'): number {
  return parseInteger(value, name, 1, MAX_PORT);
}

/** Telekinesis ports: a port, or -1 when telekinesis is not in use. */
export function parseOptionalPort(value: string, name: string): number {
  if (value === '-1') return -1;
  return parsePort(value, name);
}

export function parsePid(value: string, name = 'pid'): number {
  return parseInteger(value, name, 1, MAX_PID);
}

const STATUSES: readonly SessionStatus[] = ['R', 'S', 'T', 'F'];

export function parseStatus(value: string, name = 'status'): SessionStatus {
  const status = STATUSES.find((s) => s === value);
  if (status === undefined) throw invalid(`${name} '${shown(value)}' is not one of R, S, T, F`);
  return status;
}

const HOST_LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

function isHostName(value: string, maxLength: number): boolean {
  if (value.length === 0 || value.length > maxLength) return false;
  const labels = value.split('.');
  if (!labels.every((label) => HOST_LABEL.test(label))) return false;
  // An all-numeric last label would be read as a number (or a mistyped IPv4 address).
  return !/^\d+$/.test(labels[labels.length - 1] ?? '');
}

/** The X2Go server's host name, as `hostname` prints it. */
export function parseServer(value: string, name = 'server'): string {
  if (!isHostName(value, MAX_SERVER)) {
    throw invalid(`${name} '${shown(value)}' is not a host name (letters, digits, '-', '_', '.'; at most ${MAX_SERVER})`);
  }
  return value;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * IPv4 in dotted quads, or IPv6 (with an optional zone, as sshd reports link-local clients).
 * IPv6 is checked by the URL parser, which is loaded anyway: node:net would cost every helper
 * call a millisecond of start-up.
 */
export function isIpAddress(value: string): boolean {
  if (IPV4.test(value)) return true;
  const [address = '', zone, ...rest] = value.split('%');
  if (rest.length > 0 || !/^[0-9A-Fa-f:.]+$/.test(address) || !address.includes(':')) return false;
  if (zone !== undefined && !/^[A-Za-z0-9._-]{1,32}$/.test(zone)) return false;
  try {
    new URL(`http://[${address}]/`);
    return true;
  } catch {
    return false;
  }
}

/** The client's address as sshd reports it (IPv4 or IPv6), or a host name. */
export function parseClient(value: string, name = 'client'): string {
  if (isIpAddress(value) || isHostName(value, 253)) return value;
  throw invalid(`${name} '${shown(value)}' is neither an IP address nor a host name`);
}

export function parseCookie(value: string, name = 'cookie'): string {
  if (!/^[A-Za-z0-9]+$/.test(value) || value.length > MAX_COOKIE) {
    throw invalid(`${name} must be 1-${MAX_COOKIE} letters or digits (an X authority cookie)`);
  }
  return value;
}

/**
 * A mount point path on the server. '|' and control characters are refused because listings
 * print `client|path` lines that x2goumount-session splits on '|' and on newlines.
 */
export function parseMountPath(value: string, name = 'path'): string {
  if (value.length === 0) throw invalid(`${name} is empty`);
  if (value.length > MAX_MOUNT_PATH) throw invalid(`${name} is longer than ${MAX_MOUNT_PATH} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\x00-\x1f\x7f|]/.test(value)) throw invalid(`${name} contains a control character or '|'`);
  if (!value.startsWith('/')) throw invalid(`${name} '${shown(value)}' is not an absolute path`);
  return value;
}

/** A UNIX user name as the reference's `pnixusername` sanitizer accepts it. */
export function parseUserName(value: string, name = 'user'): string {
  if (value.length === 0 || value.length > MAX_USER || !/^[a-zA-Z0-9._][a-zA-Z0-9._\-@]*$/.test(value)) {
    throw invalid(`${name} '${shown(value)}' is not a user name`);
  }
  return value;
}

/** What x2gostartagent appends to <user>-<display>-<time>: _st<type><command>_dp<depth>[_...]. */
export function parseSessionSuffix(value: string, name = 'session_suffix'): string {
  if (value.length > MAX_SESSION_ID - 40 || !/^_[a-zA-Z0-9._-]*_dp\d{1,2}[a-zA-Z0-9._-]*$/.test(value)) {
    throw invalid(`${name} '${shown(value)}' is not a session id's end (_st<type><command>_dp<depth>...)`);
  }
  return value;
}

export function parseCount(value: string, name: string, max: number): number {
  return parseInteger(value, name, 1, max);
}

/** A comma-separated list of numbers (busy displays or ports reported by the host); may be empty. */
export function parseNumberList(value: string, name: string, parse: (v: string, name: string) => number): Set<number> {
  if (value === '') return new Set();
  const items = value.split(',');
  if (items.length > MAX_PORT) throw invalid(`${name} lists more than ${MAX_PORT} numbers`);
  return new Set(items.map((item) => parse(item, name)));
}
