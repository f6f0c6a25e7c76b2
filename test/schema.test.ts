// Schema drift (issue 11, item 6): the schema our x2godbadmin --createdb makes, per backend, must
// be the one committed in test/schema/. A migration that changes the schema therefore comes with
// its regenerated dump, and review sees the change as a diff of SQL; a migration without it fails
// here, saying what to run.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BACKENDS, type TestDatabase } from './support/backends.js';
import { ROOT } from './support/sandbox.js';
import { schemaDump, schemaFile } from './support/schema.js';

const REGENERATE = 'run `npm run schema:dump` (as root) and commit test/schema/ with the migration';

/** Lines only in the committed dump (-) or only in the schema made now (+): enough to see what changed. */
function lineChanges(committed: string, made: string, most = 20): string {
  const before = new Set(committed.split('\n'));
  const after = new Set(made.split('\n'));
  const changes = [
    ...[...before].filter((l) => !after.has(l)).map((l) => `- ${l}`),
    ...[...after].filter((l) => !before.has(l)).map((l) => `+ ${l}`),
  ];
  if (changes.length === 0) return '(the same lines, in another order)';
  return [...changes.slice(0, most), ...(changes.length > most ? [`(${changes.length - most} more)`] : [])].join('\n');
}

for (const backend of BACKENDS) {
  const needs = backend.needs();
  describe(`the committed schema dump (${backend.name})`, needs.options, () => {
    let db: TestDatabase;
    before(async () => {
      needs.check();
      db = await backend.createDatabase({ database: 'x2go_schema_check' });
    });
    after(async () => db?.drop());

    test(`x2godbadmin --createdb makes exactly the schema of test/schema/${backend.kind}.sql`, async () => {
      const file = schemaFile(backend.kind);
      const name = relative(ROOT, file);
      assert.ok(existsSync(file), `${name} is missing: ${REGENERATE}`);
      const made = await schemaDump(db);
      const committed = readFileSync(file, 'utf8');
      if (made !== committed) {
        assert.fail(
          `the schema x2godbadmin --createdb makes differs from ${name}: a migration changed it; ${REGENERATE}\n${lineChanges(committed, made)}`,
        );
      }
    });
  });
}
