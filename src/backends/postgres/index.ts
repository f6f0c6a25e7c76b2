// The PostgreSQL backend, as the factory in ../backend.ts loads it.

import { userInfo } from 'node:os';
import type { Backend } from '../backend.js';
import { lookupUser } from '../../system/accounts.js';
import { PostgresAdmin } from './admin.js';
import { connect, describeTarget } from './connection.js';
import { callerLogin } from './credentials.js';
import { PostgresStore } from './store.js';
import { sharedPostgres } from './shared.js';

export const postgresBackend: Backend = {
  openStore: async (settings, caller) => {
    const me = userInfo();
    const home = me.uid === caller.uid ? me.homedir : (lookupUser(caller.name)?.home ?? '');
    const login = callerLogin(caller, home, settings.configDir);
    return new PostgresStore(connect(settings.postgres, login), describeTarget(settings.postgres), settings.telekinesis, settings.scope);
  },
  openAdmin: async (settings) => new PostgresAdmin(settings),
  openShared: async (settings) => sharedPostgres(settings),
};
