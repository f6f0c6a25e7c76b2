// The only way a name gets into SQL text: role names, which PostgreSQL cannot take as bound
// parameters. Every name is validated and quoted by quoteIdent; the SCRAM verifier is the only
// literal, and it is checked against its exact format before it is quoted.

import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { invalid } from '../../model/errors.js';
import type { Caller } from '../../model/types.js';
import { shown } from '../../model/validate.js';

export const USER_ROLE_PREFIX = 'x2gouser_';
export const ADMIN_ROLE = 'x2godbuser';
export const USERS_GROUP_ROLE = 'x2go_users';
/**
 * The resident service's login: NOINHERIT, so it may do nothing by itself; it is a member of
 * x2godbuser and of every x2gouser_<name>, and runs each request after SET LOCAL ROLE.
 */
export const SERVICE_ROLE = 'x2gosessiond';
/** PostgreSQL cuts identifiers to NAMEDATALEN - 1 = 63 bytes, silently; we refuse instead. */
export const MAX_IDENTIFIER_BYTES = 63;

export function quoteIdent(name: string): string {
  if (name.length === 0) throw invalid('an empty name cannot be a PostgreSQL role');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\x00-\x1f\x7f]/.test(name)) throw invalid(`'${shown(name)}' contains control characters`);
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw invalid(`'${shown(name)}' is longer than ${MAX_IDENTIFIER_BYTES} bytes, PostgreSQL would cut it`);
  }
  return `"${name.replace(/"/g, '""')}"`;
}

/** The role of a UNIX user, as the reference names it: x2gouser_<name>. */
export function userRole(user: string): string {
  const role = `${USER_ROLE_PREFIX}${user}`;
  quoteIdent(role);
  return role;
}

/**
 * The role a caller acts as, whichever way in: the helper's own login (credentials.ts) and the
 * resident service's SET LOCAL ROLE (shared.ts). Root is x2godbuser; a user is x2gouser_<name>.
 */
export function callerRole(caller: Caller): string {
  return caller.uid === 0 ? ADMIN_ROLE : userRole(caller.name);
}

/** A password for a database role: 32 characters from 24 random bytes. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * PBKDF2 rounds in the verifiers we store. Rounds slow down guessing a human's password from a
 * stolen verifier; ours are 192 random bits, beyond guessing at any count, while every helper
 * call's login pays the rounds (4096, PostgreSQL's default, cost 1.3 ms here; 256 cost 0.1 ms).
 */
export const SCRAM_ITERATIONS = 256;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677), computed here so
 * that the password itself never reaches the server, its logs or pg_stat_activity.
 */
export function scramVerifier(password: string, iterations = SCRAM_ITERATIONS): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

const VERIFIER = /^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/;

export function quoteVerifier(verifier: string): string {
  if (!VERIFIER.test(verifier)) throw new Error('not a SCRAM-SHA-256 verifier');
  return `'${verifier}'`;
}
