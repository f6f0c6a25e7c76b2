// The session columns are listed once (src/model/session-columns.ts): each field once, the
// telekinesis ports last (so leaving them out keeps every other column's legacy position), and
// a stored row read back in that order.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { legacyFields, SESSION_COLUMNS, sessionRowOf } from '../src/model/session-columns.js';

test('every field once; the telekinesis ports last', () => {
  const fields = SESSION_COLUMNS.map((c) => c.field);
  assert.equal(new Set(fields).size, fields.length);
  const firstTeki = SESSION_COLUMNS.findIndex((c) => c.telekinesis);
  assert.ok(SESSION_COLUMNS.slice(firstTeki).every((c) => c.telekinesis));
});

test('a row in list order maps to its fields and prints back in the same order', () => {
  const values = SESSION_COLUMNS.map((c, i) => (c.kind === 'age' ? '42' : `v${i}`));
  const row = sessionRowOf(values);
  assert.equal(row.ageSeconds, 42);
  assert.deepEqual(
    legacyFields(row, true),
    values.map((v) => (v === '42' ? 42 : v)),
  );
  assert.equal(legacyFields(row, false).length, SESSION_COLUMNS.length - 2);
});
