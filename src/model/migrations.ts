// What a schema migration run reports, whatever the backend: one result per migration, in order.

export type MigrationStatus = 'applied' | 'adopted' | 'already-applied';

export interface MigrationResult {
  version: number;
  name: string;
  status: MigrationStatus;
}

const WORDS: Readonly<Record<MigrationStatus, string>> = {
  applied: 'applied',
  adopted: 'found in place, recorded',
  'already-applied': 'already applied',
};

/** One line per migration, for x2godbadmin's report. */
export function describeMigrations(results: readonly MigrationResult[]): string[] {
  return results.map((r) => `migration ${String(r.version).padStart(4, '0')} ${r.name}: ${WORDS[r.status]}`);
}
