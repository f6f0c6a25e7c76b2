// `npm run schema:dump`: makes a fresh database per backend with our x2godbadmin --createdb, in a
// sandbox, and writes its normalized schema to test/schema/<backend>.sql, the files
// test/schema.test.ts compares against. Run it after adding a migration and commit the result
// with it. As root, with the PostgreSQL cluster the suites use (apt-get install postgresql);
// `-- sqlite` or `-- postgres` dumps one backend only.

import { mkdirSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BACKENDS } from '../test/support/backends.js';
import { ROOT } from '../test/support/sandbox.js';
import { SCHEMA_DIR, schemaDump, schemaFile } from '../test/support/schema.js';

const only = process.argv.slice(2);
const unknown = only.filter((kind) => !BACKENDS.some((b) => b.kind === kind));
if (unknown.length > 0) {
  process.stderr.write(`schema:dump: unknown backend ${unknown.join(', ')}; one of ${BACKENDS.map((b) => b.kind).join(', ')}\n`);
  process.exitCode = 2;
} else {
  mkdirSync(SCHEMA_DIR, { recursive: true });
  for (const backend of BACKENDS.filter((b) => only.length === 0 || only.includes(b.kind))) {
    const needs = backend.needs();
    needs.check();
    const db = await backend.createDatabase({ database: 'x2go_schema_dump' });
    try {
      writeFileSync(schemaFile(backend.kind), await schemaDump(db));
      process.stdout.write(`${relative(ROOT, schemaFile(backend.kind))}: written\n`);
    } finally {
      await db.drop();
    }
  }
}
