// Ordered, versioned schema migrations for the SQLite file. The version lives in the file's
// header (PRAGMA user_version), which the reference neither reads nor writes, so a file stays
// usable by the Perl code whatever version it is at.
//
// A file made by the reference's x2godbadmin has version 0 but may already hold what some
// migrations would create; each migration therefore says how to recognise itself in place, and
// is then recorded as adopted instead of run. Each migration runs in its own BEGIN IMMEDIATE
// transaction that re-reads the version first, so two administrators running --updatedb at once
// cannot apply one twice. A run stops at the first migration that fails and reports each one:
// applied before it, failed, not run after.

import { stoppedAt, type MigrationResult, type MigrationRun, type MigrationStatus } from '../../model/migrations.js';
import type { Database } from './connection.js';
import { writeTransaction } from './connection.js';
import referenceSchema from './migrations/0001_reference_schema.sql';
import tekictrlPort from './migrations/0002_tekictrl_port.sql';
import tekidataPort from './migrations/0003_tekidata_port.sql';
import rowChecks from './migrations/0004_row_checks.sql';
import usedPortsSessionIndex from './migrations/0005_used_ports_session_index.sql';
import farmOperations from './migrations/0006_farm_operations.sql';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** True when what the migration creates is already there (a file the reference made). */
  inPlace(db: Database): boolean;
}

function hasTable(db: Database, table: string): boolean {
  return db.prepare("select 1 from sqlite_master where type = 'table' and name = ?").get(table) !== undefined;
}

function hasTrigger(db: Database, name: string): boolean {
  return db.prepare("select 1 from sqlite_master where type = 'trigger' and name = ?").get(name) !== undefined;
}

function hasColumn(db: Database, table: string, column: string): boolean {
  return db.prepare('select 1 from pragma_table_info(?) where name = ?').get(table, column) !== undefined;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'reference_schema', sql: referenceSchema, inPlace: (db) => hasTable(db, 'sessions') },
  { version: 2, name: 'tekictrl_port', sql: tekictrlPort, inPlace: (db) => hasColumn(db, 'sessions', 'tekictrl_port') },
  { version: 3, name: 'tekidata_port', sql: tekidataPort, inPlace: (db) => hasColumn(db, 'sessions', 'tekidata_port') },
  { version: 4, name: 'row_checks', sql: rowChecks, inPlace: (db) => hasTrigger(db, 'x2go_check_sessions_insert') },
  { version: 5, name: 'used_ports_session_index', sql: usedPortsSessionIndex, inPlace: () => false },
  { version: 6, name: 'farm_operations', sql: farmOperations, inPlace: () => false },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Runs what is missing, in order; stops at the first failure (see MigrationRun), throws nothing of a migration's. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): MigrationRun {
  const results: MigrationResult[] = [];
  for (const [i, m] of migrations.entries()) {
    try {
      results.push(
        writeTransaction(db, (): MigrationResult => {
          if (schemaVersion(db) >= m.version) return { version: m.version, name: m.name, status: 'already-applied' };
          const status: MigrationStatus = m.inPlace(db) ? 'adopted' : 'applied';
          if (status === 'applied') db.exec(m.sql);
          // A literal, not a parameter: PRAGMA takes none. The value is a number from the table above.
          db.pragma(`user_version = ${m.version}`);
          return { version: m.version, name: m.name, status };
        }),
      );
    } catch (error) {
      return { results: [...results, ...stoppedAt(migrations, i)], error };
    }
  }
  return { results };
}
