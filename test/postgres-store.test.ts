// The contract suite on PostgreSQL, each caller connected as their own role (x2godbuser for
// root), so row-level security is part of what is tested.

import { after, before, describe } from 'node:test';
import { loadBackend } from '../src/backends/backend.js';
import { loadSettings } from '../src/config/config.js';
import { lookupUser } from '../src/system/accounts.js';
import { sessionDbContract } from './contract/session-db.js';
import { POSTGRES, type TestDatabase } from './support/backends.js';
import { superuser } from './support/postgres.js';

const needs = POSTGRES.needs();

describe('PostgreSQL store', needs.options, () => {
  let box: TestDatabase;
  before(async () => {
    needs.check();
    // With telekinesis on, as the contract expects: the reference stores the telekinesis ports
    // on PostgreSQL only then (the differential suite covers telekinesis off).
    box = await POSTGRES.createDatabase({ database: 'x2go_contract', users: ['alice', 'bob'], serverConf: '[telekinesis]\nenable=yes\n' });
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
