// Who may act from the dashboard: whoever can read the admin token, a file only root and the
// service's account read (x2gosql/sessiond-admin-token, the service account's, 0600: made by
// x2go-sessiondb install, or by the service at start when it runs as root and finds none).
// Presented once (the login form, or an API client's Authorization: Bearer header), it buys a
// browser session: a random id in an HttpOnly, SameSite=Strict cookie, and a CSRF token of its
// own that every state-changing request must carry in a header (X-CSRF-Token). Cross-site
// requests are refused three times over: the cookie is not sent, the Origin must be this
// dashboard's, and a foreign page cannot read the CSRF token (no CORS). See README, "Monitoring".

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, chownSync, lstatSync, openSync, readFileSync, writeSync, closeSync, renameSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';

export const COOKIE = 'x2go_admin';
/** A browser session lasts this long. */
const SESSION_MS = 12 * 3600_000;
const MAX_SESSIONS = 1000;

/**
 * Writes a new token into `file` (none there yet), owned by `uid`:`gid`, mode 0600, put in place
 * by rename so that nobody reads a partial one. Returns the token.
 */
export function makeAdminToken(file: string, uid: number, gid: number): string {
  const token = randomBytes(32).toString('base64url');
  const pending = `${file}.${process.pid}`;
  const fd = openSync(pending, 'wx', 0o600);
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  chmodSync(pending, 0o600);
  if (uid !== (process.geteuid?.() ?? 0)) chownSync(pending, uid, gid);
  renameSync(pending, file);
  return token;
}

/** The token in the file, made if there is none and we may; undefined (and a reason) when the file is unsafe. */
export function loadToken(file: string): { token?: string; problem?: string } {
  const own = process.geteuid?.() ?? 0;
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (!st) {
    try {
      return { token: makeAdminToken(file, own, process.getegid?.() ?? 0) };
    } catch {
      return { problem: `${file} is missing (x2go-sessiondb install makes it); dashboard actions are off` };
    }
  }
  if (!st.isFile() || (st.uid !== own && st.uid !== 0) || (st.mode & 0o077) !== 0) {
    return { problem: `${file} must be a regular file of the service's account (or root's), mode 0600; dashboard actions are off` };
  }
  const token = readFileSync(file, 'utf8').trim();
  if (token.length < 16) return { problem: `${file} holds no token of at least 16 characters; dashboard actions are off` };
  return { token };
}

export function adminTokenFile(configDir: string): string {
  return join(configDir, 'x2gosql', 'sessiond-admin-token');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

interface BrowserSession {
  csrf: string;
  expires: number;
}

export class AdminAuth {
  readonly #token: string | undefined;
  readonly problem: string | undefined;
  readonly #sessions = new Map<string, BrowserSession>();

  constructor(tokenFile: string) {
    let loaded: ReturnType<typeof loadToken>;
    try {
      loaded = loadToken(tokenFile);
    } catch (err) {
      loaded = { problem: `cannot read or make ${tokenFile}: ${err instanceof Error ? err.message : String(err)}` };
    }
    this.#token = loaded.token;
    this.problem = loaded.problem;
  }

  /** The token is right: a new browser session (its id for the cookie, its CSRF token). */
  login(token: string): { id: string; csrf: string } | undefined {
    if (this.#token === undefined || !same(token, this.#token)) return undefined;
    const now = Date.now();
    for (const [id, s] of this.#sessions) if (s.expires < now) this.#sessions.delete(id);
    if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value as string);
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    this.#sessions.set(id, { csrf, expires: now + SESSION_MS });
    return { id, csrf };
  }

  logout(req: IncomingMessage): void {
    const id = cookieOf(req, COOKIE);
    if (id) this.#sessions.delete(id);
  }

  /** The browser session of this request's cookie, if live. */
  session(req: IncomingMessage): BrowserSession | undefined {
    const id = cookieOf(req, COOKIE);
    const s = id === undefined ? undefined : this.#sessions.get(id);
    if (!s || s.expires < Date.now()) return undefined;
    return s;
  }

  /** An API client's bearer token. */
  #bearer(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    return this.#token !== undefined && header.startsWith('Bearer ') && same(header.slice(7).trim(), this.#token);
  }

  /** May read what only the admin sees (sessions, events)? */
  mayRead(req: IncomingMessage): boolean {
    return this.#bearer(req) || this.session(req) !== undefined;
  }

  /**
   * May change something? A bearer token (not sent by browsers on their own), or a cookie
   * session whose request carries its CSRF token; the Origin check is the HTTP layer's.
   */
  mayAct(req: IncomingMessage): boolean {
    if (this.#bearer(req)) return true;
    const s = this.session(req);
    const header = req.headers['x-csrf-token'];
    return s !== undefined && typeof header === 'string' && same(header, s.csrf);
  }
}
