// Many helper processes writing one SQLite file at once, as at the start of a school day:
// no "database is locked", no lost or duplicated rows. Both in WAL mode (files we create) and in
// the rollback-journal mode of files the reference created and nobody has updated.

import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { createSandbox, type Sandbox } from './support/sandbox.js';
import { runAsync, type Result } from './support/system.js';
import { join } from 'node:path';
import { DIST } from './support/sandbox.js';

const me = userInfo().username;
const WORKERS = 32;

function helper(box: Sandbox, name: string, args: string[]): Promise<Result> {
  return runAsync(process.execPath, [join(DIST, 'helpers', name), ...args], { env: { X2GO_CONFIG_DIR: box.configDir } });
}

for (const journal of ['wal', 'delete'] as const) {
  describe(`${WORKERS} processes at once (journal mode ${journal})`, () => {
    let box: Sandbox;
    before(() => {
      box = createSandbox();
      assert.equal(box.admin(['--createdb']).code, 0);
      const db = new Database(box.dbPath);
      db.pragma(`journal_mode = ${journal}`);
      db.close();
    });
    after(() => box.remove());

    test('each starts a session and reserves three ports: all succeed, nothing duplicated', async () => {
      const worker = async (i: number): Promise<Result[]> => {
        const sid = `${me}-${100 + i}-17000${String(i).padStart(5, '0')}_stDxfce_dp24`;
        const results = [await helper(box, 'x2goinsertsession', [String(100 + i), 'x2go-test', sid])];
        for (let p = 0; p < 3; p++) results.push(await helper(box, 'x2goinsertport', ['x2go-test', sid, String(30000 + i * 3 + p)]));
        return results;
      };
      const results = (await Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(i)))).flat();
      for (const r of results) {
        assert.equal(r.stderr, '');
        assert.equal(r.stdout, 'inserted');
      }
      const db = new Database(box.dbPath, { readonly: true });
      try {
        assert.equal(db.prepare('select count(*) from sessions').pluck().get(), WORKERS);
        assert.equal(db.prepare('select count(distinct display) from sessions').pluck().get(), WORKERS);
        assert.equal(db.prepare('select count(*) from used_ports').pluck().get(), WORKERS * 3);
        assert.equal(db.prepare('select count(distinct port) from used_ports').pluck().get(), WORKERS * 3);
      } finally {
        db.close();
      }
    });

    test('all want the same display: exactly one gets it, the others a clear conflict, none "locked"', async () => {
      const results = await Promise.all(
        Array.from({ length: WORKERS }, (_, i) =>
          helper(box, 'x2goinsertsession', ['500', 'x2go-test', `${me}-500-18000${String(i).padStart(5, '0')}_stDxfce_dp24`]),
        ),
      );
      assert.equal(results.filter((r) => r.code === 0 && r.stdout === 'inserted').length, 1);
      for (const r of results.filter((x) => x.code !== 0)) {
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^x2goinsertsession: display 500 is already in use\n$/);
      }
    });
  });
}
