// What a schema migration run reports, whatever the backend: one result per migration, in order,
// as kysely's migrator does. A run stops at the first migration that fails; those before it stay
// applied (each has its own transaction), those after it did not run, and the report says so.

export type MigrationStatus = 'applied' | 'adopted' | 'already-applied' | 'failed' | 'not-run';

export interface MigrationResult {
  version: number;
  name: string;
  status: MigrationStatus;
}

export interface MigrationRun {
  results: MigrationResult[];
  /** Why the migration whose status is 'failed' failed (the driver's error); absent when none failed. */
  error?: unknown;
}

const WORDS: Readonly<Record<MigrationStatus, string>> = {
  applied: 'applied',
  adopted: 'found in place, recorded',
  'already-applied': 'already applied',
  failed: 'FAILED',
  'not-run': 'not run',
};

/** "migration 0005 quota_locks", for reports and messages. */
export function migrationLabel(m: { version: number; name: string }): string {
  return `migration ${String(m.version).padStart(4, '0')} ${m.name}`;
}

/** One line per migration, for x2godbadmin's report. */
export function describeMigrations(results: readonly MigrationResult[]): string[] {
  return results.map((r) => `${migrationLabel(r)}: ${WORDS[r.status]}`);
}

/**
 * What a run reports from the migration at `index` on, when that one failed: failed, and the
 * rest not run (a run stops at its first failure).
 */
export function stoppedAt(migrations: readonly { version: number; name: string }[], index: number): MigrationResult[] {
  return migrations.slice(index).map((m, i) => ({ version: m.version, name: m.name, status: i === 0 ? 'failed' : 'not-run' }));
}

/** The migration that failed in a run, if one did. */
export function failedMigration(run: MigrationRun): MigrationResult | undefined {
  return run.results.find((r) => r.status === 'failed');
}
