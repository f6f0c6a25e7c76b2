// Suites that need root, the reference (x2goserver) or PostgreSQL may skip on a laptop, never in
// CI: with CI=true an unmet requirement fails the suite instead, naming what is missing.

import { existsSync } from 'node:fs';

export const inCI = process.env.CI === 'true';
export const isRoot = process.getuid?.() === 0;
export const hasReference = existsSync('/usr/lib/x2go/libx2go-server-db-sqlite3-wrapper') && existsSync('/usr/sbin/x2godbadmin');
export const hasCompiler = existsSync('/usr/bin/cc');

export interface Requirement {
  /** Options for describe(): skip outside CI when unmet. */
  options: { skip?: string };
  /** Call first in before(): throws in CI when unmet. */
  check(): void;
}

/** Why suites of this test process were skipped (outside CI): what viaService reports. */
export const skipReasons = new Set<string>();

export function requires(...conditions: [met: boolean, what: string][]): Requirement {
  const missing = conditions.filter(([met]) => !met).map(([, what]) => what);
  const reason = missing.length ? `needs ${missing.join(', ')}` : undefined;
  if (reason && !inCI) skipReasons.add(reason);
  return {
    options: reason && !inCI ? { skip: reason } : {},
    check() {
      if (reason) throw new Error(`this suite ${reason}; CI must provide it (see .ci/run)`);
    },
  };
}
