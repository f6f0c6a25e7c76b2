// Isolation on SQLite: the shared suite, plus what protects the file itself.

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { lookupGroupId } from '../src/system/accounts.js';
import { NEEDS_ROOT, NEEDS_X2GOUSER, SQLITE } from './support/backends.js';
import { hasCompiler } from './support/requirements.js';
import { DIST } from './support/sandbox.js';
import { run } from './support/system.js';
import { isolationSuite, refused } from './suites/isolation.js';

const needs = SQLITE.needs(NEEDS_ROOT, [hasCompiler, '/usr/bin/cc'], NEEDS_X2GOUSER);

isolationSuite(SQLITE, needs, 'x2go_isolation', (ctx) => {
  test('the launcher is root:x2gouser 2755, the database root:x2gouser 0660 in a 0770 directory', () => {
    const { box, inst } = ctx();
    const gid = lookupGroupId('x2gouser');
    const launcher = statSync(join(inst.prefix, 'x2godb-launcher'));
    assert.deepEqual([launcher.uid, launcher.gid, launcher.mode & 0o7777], [0, gid, 0o2755]);
    const file = statSync(box.dbPath);
    assert.deepEqual([file.uid, file.gid, file.mode & 0o777], [0, gid, 0o660]);
    const dir = statSync(join(box.dir, 'db'));
    assert.deepEqual([dir.uid, dir.gid, dir.mode & 0o777], [0, gid, 0o770]);
  });

  test('a user cannot read the database file directly, nor open it without the launcher', () => {
    const { box, alice } = ctx();
    const cat = run('/bin/cat', [box.dbPath], { as: alice });
    assert.notEqual(cat.code, 0);
    assert.match(cat.stderr, /Permission denied/);
    const direct = run(process.execPath, [join(DIST, 'x2godb.cjs'), 'listsessions_all'], {
      as: alice,
      env: { X2GO_CONFIG_DIR: box.configDir },
    });
    refused(direct, 4, /cannot open the file/);
  });
});
