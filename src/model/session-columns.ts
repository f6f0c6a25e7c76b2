// The columns of a session row, once: their field in SessionRow, their column in the reference's
// `sessions` table, and what kind of value they hold, in the order the reference's listings
// print them (the legacy position is the place in this list). The stores build their SELECT
// lists and map rows from it, and the legacy formatter prints rows in its order; adding a column
// means a line here, a field in SessionRow and a migration.

import type { SessionRow } from './types.js';

/**
 * integer and text: the stored value as it is. padded-text: text a backend may store padded
 * (PostgreSQL's char(33) cookie). time: a timestamp printed as YYYY-MM-DDTHH:MM:SS in local
 * time. age: whole seconds since the column's time (derived, not stored).
 */
export type ColumnKind = 'integer' | 'text' | 'padded-text' | 'time' | 'age';

export interface SessionColumn {
  field: keyof SessionRow;
  /** The stored column (for 'age', the time it counts from); a plain identifier. */
  column: string;
  kind: ColumnKind;
  /** A telekinesis port: printed only by the listings whose backend trait says so (always last). */
  telekinesis?: true;
}

const LISTED = [
  { field: 'agentPid', column: 'agent_pid', kind: 'integer' },
  { field: 'sessionId', column: 'session_id', kind: 'text' },
  { field: 'display', column: 'display', kind: 'integer' },
  { field: 'server', column: 'server', kind: 'text' },
  { field: 'status', column: 'status', kind: 'text' },
  { field: 'initTime', column: 'init_time', kind: 'time' },
  { field: 'cookie', column: 'cookie', kind: 'padded-text' },
  { field: 'client', column: 'client', kind: 'text' },
  { field: 'grPort', column: 'gr_port', kind: 'integer' },
  { field: 'soundPort', column: 'sound_port', kind: 'integer' },
  { field: 'lastTime', column: 'last_time', kind: 'time' },
  { field: 'uname', column: 'uname', kind: 'text' },
  { field: 'ageSeconds', column: 'init_time', kind: 'age' },
  { field: 'fsPort', column: 'fs_port', kind: 'integer' },
  { field: 'tekictrlPort', column: 'tekictrl_port', kind: 'integer', telekinesis: true },
  { field: 'tekidataPort', column: 'tekidata_port', kind: 'integer', telekinesis: true },
] as const satisfies readonly SessionColumn[];

export const SESSION_COLUMNS: readonly SessionColumn[] = LISTED;

/** Checked by the compiler: a field added to SessionRow without its line above does not build. */
type Unlisted = Exclude<keyof SessionRow, (typeof LISTED)[number]['field']>;
export const EVERY_FIELD_LISTED: [Unlisted] extends [never] ? true : Unlisted = true;

for (const c of SESSION_COLUMNS) {
  // Column names go into SQL text (quoted where the backend has a quoting function): constants only.
  if (!/^[a-z_]+$/.test(c.column)) throw new Error(`session column ${c.column} is not a plain identifier`);
}

/**
 * A row as a store selected it, values in SESSION_COLUMNS order. An age may come back as a
 * string (PostgreSQL's int8); it is a number in the model.
 */
export function sessionRowOf(values: readonly unknown[]): SessionRow {
  // Plain loops over lists made once: a poll of x2golistsessions maps every row of the listing.
  const row: Record<string, unknown> = {};
  for (let i = 0; i < FIELDS.length; i++) {
    const value = values[i] ?? null;
    row[FIELDS[i] as string] = IS_AGE[i] && value !== null ? Number(value) : value;
  }
  return row as unknown as SessionRow;
}

const FIELDS = SESSION_COLUMNS.map((c) => c.field);
const IS_AGE = SESSION_COLUMNS.map((c) => c.kind === 'age');
const LEGACY_FIELDS = FIELDS.filter((_, i) => !SESSION_COLUMNS[i]?.telekinesis);

/** The fields of a row in the reference's listing order; the telekinesis ports only when asked. */
export function legacyFields(row: SessionRow, withTelekinesis: boolean): SessionRow[keyof SessionRow][] {
  return (withTelekinesis ? FIELDS : LEGACY_FIELDS).map((f) => row[f]);
}
