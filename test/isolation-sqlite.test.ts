// Isolation on SQLite: the shared suite, plus what protects the file itself.

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { lookupGroupId } from '../src/system/accounts.js';
import { hasCompiler, isRoot, requires } from './support/requirements.js';
import { createSandbox, DIST } from './support/sandbox.js';
import { run } from './support/system.js';
import { isolationSuite, refused } from './suites/isolation.js';

const needs = requires([isRoot, 'root'], [hasCompiler, '/usr/bin/cc'], [lookupGroupId('x2gouser') !== undefined, 'group x2gouser (x2goserver)']);

isolationSuite(
  'SQLite',
  needs,
  {
    setup: async () => {
      const box = createSandbox();
      assert.equal(box.admin(['--createdb']).code, 0);
      return box;
    },
    dump: async (box) => box.dump(),
    teardown: async (box) => box.remove(),
  },
  (ctx) => {
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
      const direct = run(process.execPath, [join(DIST, 'x2godb.cjs'), 'listsessions_all'], { as: alice, env: { X2GO_CONFIG_DIR: box.configDir } });
      refused(direct, 4, /cannot open the file/);
    });
  },
);
