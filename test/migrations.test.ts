// The migration runner's report, on a real SQLite file: a run stops at the first migration that
// fails; those before it are reported (and stay) applied, the failed one failed, the rest not run.
// (x2godbadmin's report of it, on both backends: cli.test.ts and admin-postgres.test.ts.)

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openDatabase } from '../src/backends/sqlite/connection.js';
import { migrate, type Migration } from '../src/backends/sqlite/migrate.js';
import { describeMigrations } from '../src/model/migrations.js';

const dir = mkdtempSync(join(tmpdir(), 'x2godb-migrations-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const step = (version: number, name: string, sql: string): Migration => ({ version, name, sql, inPlace: () => false });

test('a failing migration after a good one: applied, failed, not run; the good one stays', () => {
  const db = openDatabase(join(dir, 'x2go_sessions'), { create: true });
  try {
    const run = migrate(db, [
      step(1, 'good', 'create table good (x)'),
      step(2, 'bad', 'create table good (x)'),
      step(3, 'later', 'create table later (x)'),
    ]);
    assert.deepEqual(describeMigrations(run.results), [
      'migration 0001 good: applied',
      'migration 0002 bad: FAILED',
      'migration 0003 later: not run',
    ]);
    assert.match(String(run.error), /table good already exists/);
    assert.equal(db.pragma('user_version', { simple: true }), 1);
    assert.equal(db.prepare("select count(*) from sqlite_master where name = 'later'").pluck().get(), 0);
  } finally {
    db.close();
  }
});
