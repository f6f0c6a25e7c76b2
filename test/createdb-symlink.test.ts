// Issue 9, hole 5: x2godbadmin --createdb (SQLite) works as root in a directory that group
// x2gouser can write. Whoever holds the group (the reference's setgid wrapper gave it away) can
// plant links there: `x2go_sessions -> /etc/cron.d/x` made root create a file of its choosing,
// group-writable by x2gouser; `x2go_sessions-wal -> /etc/shadow` aimed root's chmod and chown at
// another file. Now every such file is refused with a message saying why, and nothing changes.

import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lookupGroupId, type Account } from '../src/system/accounts.js';
import { isRoot, requires } from './support/requirements.js';
import { createSandbox, type Sandbox } from './support/sandbox.js';
import { ensureUser, run } from './support/system.js';

const needs = requires([isRoot, 'root'], [lookupGroupId('x2gouser') !== undefined, 'group x2gouser (x2goserver)']);

describe('x2godbadmin --createdb and links planted by group x2gouser (SQLite)', needs.options, () => {
  let box: Sandbox;
  let alice: Account;
  let gid: number;

  /** `ln -s` as alice holding group x2gouser, as the setgid wrapper let her. */
  const plant = (target: string, link: string) => {
    const r = run('/bin/ln', ['-s', target, link], { as: { ...alice, gid } });
    assert.equal(r.code, 0, r.stderr);
  };
  /** A file only root may touch, as /etc/shadow is. */
  const rootsFile = (name: string) => {
    const file = join(box.dir, name);
    writeFileSync(file, 'secret\n', { mode: 0o600 });
    return file;
  };
  const identity = (file: string) => {
    const st = statSync(file);
    return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, content: readFileSync(file, 'utf8') };
  };

  before(() => {
    needs.check();
    alice = ensureUser('alice');
    gid = lookupGroupId('x2gouser') ?? -1;
    box = createSandbox();
    // The database's directory as on a server: root:x2gouser 0770.
    assert.equal(box.admin(['--createdb']).code, 0);
  });
  after(() => box?.remove());

  for (const suffix of ['-wal', '-shm', '-journal']) {
    test(`a companion ${suffix} linked to root's file: refused, the file unchanged`, () => {
      const target = rootsFile(`shadow${suffix}`);
      const before = identity(target);
      const link = box.dbPath + suffix;
      plant(target, link);
      const r = box.admin(['--createdb']);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        new RegExp(`^x2godbadmin: ${link.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is a symbolic link.*Nothing was changed`),
      );
      assert.deepEqual(identity(target), before);
      assert.ok(lstatSync(link).isSymbolicLink(), 'the link is left for the administrator to see');
      run('/bin/rm', ['-f', link]);
    });
  }

  test('the database itself linked to a file that does not exist yet: refused, nothing created', () => {
    assert.equal(run('/bin/rm', ['-f', box.dbPath]).code, 0);
    const target = join(dirname(box.dir), `${box.dir.split('/').pop()}-cron`);
    plant(target, box.dbPath);
    for (const args of [['--createdb'], ['--updatedb']]) {
      const r = box.admin(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, /is a symbolic link.*Nothing was changed/);
      assert.equal(existsSync(target), false, `${args.join(' ')} created the link's target`);
    }
    run('/bin/rm', ['-f', box.dbPath]);
  });

  test('a companion that is a FIFO: refused without blocking', () => {
    const fifo = `${box.dbPath}-shm`;
    assert.equal(run('/usr/bin/mkfifo', [fifo], { as: { ...alice, gid } }).code, 0);
    const r = box.admin(['--createdb']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is not a regular file/);
    run('/bin/rm', ['-f', fifo]);
  });
});
