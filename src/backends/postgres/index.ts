// The PostgreSQL backend, as the registry in ../backend.ts loads it.

import { userInfo } from 'node:os';
import type { Backend } from '../../model/backend.js';
import { lookupUser } from '../../system/accounts.js';
import { PostgresAdmin } from './admin.js';
import { connect, describeTarget } from './connection.js';
import { callerLogin } from './credentials.js';
import { describeTargets, type PostgresSettings } from './settings.js';
import { PostgresStore } from './store.js';
import { sharedPostgres } from './shared.js';

export const postgresBackend: Backend<PostgresSettings> = {
  openStore: async (settings, caller) => {
    const me = userInfo();
    const home = me.uid === caller.uid ? me.homedir : (lookupUser(caller.name)?.home ?? '');
    const login = callerLogin(caller, home, settings.configDir);
    const pg = settings.backend;
    return new PostgresStore(connect(pg, login), describeTarget(pg), settings.telekinesis, pg.scope);
  },
  openAdmin: async (settings) => new PostgresAdmin(settings),
  openShared: async (settings) => sharedPostgres(settings),
  openDoctor: async (settings) => new (await import('./doctor.js')).PostgresDoctor(settings),
  // The reference writes and prints the telekinesis ports only when telekinesis is enabled, and
  // never in desktop-sharing listings.
  legacyTraits: (settings) => ({
    tekiColumns: { sessions: settings.telekinesis, shadow: false, root: settings.telekinesis },
    serverCounts: true,
  }),
  describe: (pg) => `${describeTargets(pg.targets)}/${pg.database}`,
};
