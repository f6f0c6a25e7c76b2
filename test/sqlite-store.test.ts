import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/backends/sqlite/connection.js';
import { migrate } from '../src/backends/sqlite/migrate.js';
import { SqliteStore } from '../src/backends/sqlite/store.js';
import { sessionDbContract } from './contract/session-db.js';

sessionDbContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'x2godb-store-'));
  const path = join(dir, 'x2go_sessions');
  const db = openDatabase(path, { create: true });
  migrate(db);
  db.close();
  // SQLite has no users of its own: every caller uses the same file.
  const store = SqliteStore.open(path);
  return { storeFor: async () => store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
