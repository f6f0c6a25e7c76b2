// The contract suite on PostgreSQL, each caller connected as their own role (x2godbuser for
// root), so row-level security is part of what is tested.

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { loadBackend } from '../src/backends/backend.js';
import { loadSettings } from '../src/config/config.js';
import { lookupUser } from '../src/system/accounts.js';
import { sessionDbContract } from './contract/session-db.js';
import { createPgSandbox, ensurePostgres, hasPostgres, superuser, type PgSandbox } from './support/postgres.js';
import { isRoot, requires } from './support/requirements.js';
import { ensureUser } from './support/system.js';

const needs = requires([isRoot, 'root'], [hasPostgres, 'PostgreSQL (apt-get install postgresql)']);

describe('PostgreSQL store', needs.options, () => {
  let box: PgSandbox;
  before(() => {
    needs.check();
    ensurePostgres();
    ensureUser('alice');
    ensureUser('bob');
    // With telekinesis on, as the contract expects: the reference stores the telekinesis ports
    // on PostgreSQL only then (the differential suite covers telekinesis off).
    box = createPgSandbox('x2go_contract', '[telekinesis]\nenable=yes\n');
    for (const args of [['--createdb', '--force'], ['--adduser', 'alice'], ['--adduser', 'bob']]) {
      const r = box.admin(args);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => box?.drop());

  sessionDbContract('postgres', async () => {
    const su = superuser(box.database);
    await su`truncate sessions, used_ports, mounts`;
    await su.end();
    const settings = loadSettings(box.configDir);
    const postgresBackend = await loadBackend(settings.backend.name);
    return {
      // The contract's callers are plain values; here they are the real accounts of the same names.
      storeFor: (caller) =>
        postgresBackend.openStore(settings, caller.uid === 0 ? caller : { uid: lookupUser(caller.name)?.uid ?? -1, name: caller.name }),
      cleanup: async () => {},
    };
  });
});
