// The farm stores (model/farm.ts) by backend name, one entry each: apart from the registry in
// backend.ts on purpose, so that the helpers' bundle, which carries that registry, carries none
// of this. Imported only by x2gosessiond and x2go-sessiondb's farm commands.

import { SessionDbError } from '../model/errors.js';
import type { FarmOpener, FarmStore } from '../model/farm.js';
import type { Settings } from './backend.js';
import { openPostgresFarm } from './postgres/farm.js';
import { openSqliteFarm } from './sqlite/farm.js';

export async function openFarm(settings: Settings, opener: FarmOpener): Promise<FarmStore> {
  const backend = settings.backend;
  switch (backend.name) {
    case 'sqlite':
      if (backend.path === undefined)
        throw new SessionDbError('config', `no x2gouser account to hold x2go_sessions; set [sqlite] path=... in ${settings.sqlFile}`);
      return openSqliteFarm(backend.path);
    case 'postgres':
      return openPostgresFarm({ ...settings, backend }, opener);
  }
}
