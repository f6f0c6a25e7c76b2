// What x2godbadmin asks of a backend. Creating and updating the schema is common to all;
// managing database users exists only where the database has users of its own (PostgreSQL),
// so those are optional methods: a backend without them answers with the reference's message.

import type { SessionDbError } from './errors.js';
import type { SessionDump } from './transfer.js';

export interface AdminReport {
  /** One line per action taken, for stdout. */
  lines: string[];
  /**
   * Set when the action stopped part-way (a migration failed): `lines` then say what was done
   * before it, which stays done. Errors before anything changed are thrown instead.
   */
  failure?: SessionDbError;
}

export interface AdminBackend {
  /** Creates the database; refuses to replace one that still holds sessions unless forced. */
  createdb(options: { force: boolean }): Promise<AdminReport>;
  /**
   * Brings an existing database (the reference's too) up to the current schema; idempotent.
   * Where the backend has a display/port scope, also applies the configured one; leaving the
   * reference's farm-wide scope needs `noPerlNodes` (the administrator's word that no server
   * runs the reference any more).
   */
  updatedb(options?: { noPerlNodes?: boolean }): Promise<AdminReport>;

  listusers?(): Promise<AdminReport>;
  adduser?(user: string): Promise<AdminReport>;
  rmuser?(user: string): Promise<AdminReport>;
  addgroup?(group: string): Promise<AdminReport>;
  rmgroup?(group: string): Promise<AdminReport>;

  /** Every session with its ports, mounts and history, read in one consistent snapshot. */
  exportSessions?(): Promise<SessionDump>;
  /**
   * Copies a dump in, in one transaction, and checks what it wrote before committing. Rows
   * already there (a second run) are left as they are; a database that holds sessions the dump
   * does not have is refused unless `force`.
   */
  importSessions?(dump: SessionDump, options: { force: boolean }): Promise<AdminReport>;
}
