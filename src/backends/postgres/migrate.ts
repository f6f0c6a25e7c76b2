// Ordered, versioned migrations for the PostgreSQL database, recorded in x2go_schema_migrations.
// Each runs in its own transaction, and the whole run holds an advisory lock, so two
// administrators (or two farm nodes) running --updatedb at once apply each migration once.
// A database made by the reference has no record table; what it already holds is recognised
// and recorded as adopted (0001, and 0002 when it has the telekinesis columns). A run stops at
// the first migration that fails and reports each one: applied before it, failed, not run after.

import { stoppedAt, type MigrationResult, type MigrationRun, type MigrationStatus } from '../../model/migrations.js';
import type { ConnectionSql, Sql, Tx } from './connection.js';
import referenceSchema from './migrations/0001_reference_schema.sql';
import telekinesisPorts from './migrations/0002_telekinesis_ports.sql';
import rowLevelSecurity from './migrations/0003_row_level_security.sql';
import statusGrants from './migrations/0004_status_grants.sql';
import quotaLocks from './migrations/0005_quota_locks.sql';
import farmOperations from './migrations/0006_farm_operations.sql';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** True when what the migration creates is already there (a database the reference made). */
  inPlace(tx: Tx): Promise<boolean>;
}

async function exists(query: PromiseLike<readonly unknown[]>): Promise<boolean> {
  return (await query).length > 0;
}

const hasColumn = (tx: Tx, table: string, column: string) =>
  exists(tx`select 1 from information_schema.columns
            where table_schema = current_schema() and table_name = ${table} and column_name = ${column}`);

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'reference_schema',
    sql: referenceSchema,
    inPlace: (tx) => exists(tx`select 1 from information_schema.tables where table_schema = current_schema() and table_name = 'sessions'`),
  },
  {
    version: 2,
    name: 'telekinesis_ports',
    sql: telekinesisPorts,
    inPlace: async (tx) => (await hasColumn(tx, 'sessions', 'tekictrl_port')) && hasColumn(tx, 'sessions', 'tekidata_port'),
  },
  {
    version: 3,
    name: 'row_level_security',
    sql: rowLevelSecurity,
    inPlace: (tx) => exists(tx`select 1 from pg_policies where tablename = 'sessions' and policyname = 'x2go_read'`),
  },
  { version: 4, name: 'status_grants', sql: statusGrants, inPlace: async () => false },
  { version: 5, name: 'quota_locks', sql: quotaLocks, inPlace: async () => false },
  { version: 6, name: 'farm_operations', sql: farmOperations, inPlace: async () => false },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
/** Arbitrary, fixed: the advisory lock that serialises migration runs. */
const MIGRATION_LOCK = 0x7832676f;

export async function schemaVersion(sql: Sql): Promise<number> {
  const [row] = await sql`select coalesce(max(version), 0) as v from x2go_schema_migrations`;
  return Number(row?.v ?? 0);
}

/**
 * Runs what is missing, in order; stops at the first migration that fails (see MigrationRun).
 * Throws only when the run cannot start (no lock, no record table): then nothing ran.
 */
export async function migrate(sql: ConnectionSql, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationRun> {
  await sql`select pg_advisory_lock(${MIGRATION_LOCK})`;
  try {
    await sql`create table if not exists x2go_schema_migrations (
      version integer primary key, name text not null, applied_at timestamptz not null default now())`;
    const results: MigrationResult[] = [];
    for (const [i, m] of migrations.entries()) {
      try {
        results.push(
          (await sql.begin(async (tx): Promise<MigrationResult> => {
            const done = await exists(tx`select 1 from x2go_schema_migrations where version = ${m.version}`);
            if (done) return { version: m.version, name: m.name, status: 'already-applied' };
            const status: MigrationStatus = (await m.inPlace(tx)) ? 'adopted' : 'applied';
            // The migration's own text: constant SQL from this package, several statements.
            if (status === 'applied') await tx.unsafe(m.sql);
            await tx`insert into x2go_schema_migrations (version, name) values (${m.version}, ${m.name})`;
            return { version: m.version, name: m.name, status };
          })) as MigrationResult,
        );
      } catch (error) {
        return { results: [...results, ...stoppedAt(migrations, i)], error };
      }
    }
    return { results };
  } finally {
    await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`;
  }
}
