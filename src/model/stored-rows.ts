// Rows root's scripts must never see. x2gocleansessions and friends pass listed session ids and
// user names to `su ... -c`; a row written into the database by other means than our CLI (the
// reference's setgid wrapper gave every user group x2gouser, and so the SQLite file; a row
// stored before the schema refused such values) could make root run a command. So every row of
// a root listing is checked with the same parsers the CLI applies to its arguments
// (validate.ts), plus the rule that a row is stored in the name its id gives; a row that fails
// is left out and reported in one line that shows its values escaped.

import { SessionDbError } from './errors.js';
import { sessionName } from './ownership.js';
import type { SessionRow } from './types.js';
import { parseClient, parseCookie, parseServer, parseSessionId, parseStatus, parseUserName } from './validate.js';

/** A root listing: the rows fit to print, and one line for each row that is not. */
export interface RootListing {
  rows: SessionRow[];
  refused: string[];
}

/**
 * Whether a row of this id may be stored in this user's name: the id's own user, or the owner of
 * the desktop it shares (the row a desktop's owner stores for a viewer is in the viewer's name,
 * which starts the id).
 */
export function namedFor(sessionId: string, uname: string): boolean {
  const name = sessionName(sessionId);
  // An id of the x2gosid format whose time has 9 digits (before 2001) still starts with its user.
  if (name === undefined) return sessionId.startsWith(`${uname}-`);
  return name.user === uname || name.sharedDesktopOf === uname;
}

/** Whether the parser accepts the value (it throws 'invalid' otherwise). */
function passes(parse: (value: string) => unknown, value: string): boolean {
  try {
    parse(value);
    return true;
  } catch (err) {
    if (err instanceof SessionDbError && err.code === 'invalid') return false;
    throw err;
  }
}

/** The fields of a stored row that fail the CLI's validation, by column name. */
export function malformedFields(row: SessionRow): string[] {
  const bad: string[] = [];
  if (typeof row.sessionId !== 'string' || !passes(parseSessionId, row.sessionId)) bad.push('session_id');
  if (typeof row.uname !== 'string' || !passes(parseUserName, row.uname)) bad.push('uname');
  else if (!bad.includes('session_id') && !namedFor(row.sessionId, row.uname)) bad.push('uname');
  if (typeof row.server !== 'string' || !passes(parseServer, row.server)) bad.push('server');
  if (row.client !== null && !passes(parseClient, String(row.client))) bad.push('client');
  if (row.cookie !== null && (typeof row.cookie !== 'string' || !passes(parseCookie, row.cookie))) bad.push('cookie');
  if (typeof row.status !== 'string' || !passes(parseStatus, row.status)) bad.push('status');
  return bad;
}

/**
 * A value as a shell-inert string: letters, digits and . _ @ - as they are, every other
 * character as \xNN (or \u{N}), shortened; so a refusal line shows what was stored without
 * putting ';', '$', quotes, newlines or escape sequences on a terminal or into a log.
 */
export function escapedValue(value: unknown, max = 80): string {
  const text = String(value);
  let out = '';
  for (const ch of text) {
    if (out.length >= max) return `${out}...`;
    if (/^[A-Za-z0-9._@-]$/.test(ch)) out += ch;
    else {
      const code = ch.codePointAt(0) ?? 0;
      out += code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
    }
  }
  return out;
}

/** Splits a root listing into the rows fit to print and a line for each refused one. */
export function screenRootListing(rows: readonly SessionRow[]): RootListing {
  const listing: RootListing = { rows: [], refused: [] };
  for (const row of rows) {
    const bad = malformedFields(row);
    if (bad.length === 0) {
      listing.rows.push(row);
      continue;
    }
    listing.refused.push(
      `not listing a stored session row with a malformed ${bad.join(', ')} ` +
        `(session_id ${escapedValue(row.sessionId)}, uname ${escapedValue(row.uname)}), delete it with sqlite3 or psql`,
    );
  }
  return listing;
}
