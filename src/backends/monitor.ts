// The farm monitors (model/monitor.ts) by backend name, one entry each: apart from the registry
// in backend.ts on purpose, so that the helpers' bundle, which carries that registry, carries
// none of this. Imported only by x2gosessiond (src/service/observe/).

import { SessionDbError } from '../model/errors.js';
import type { FarmMonitor } from '../model/monitor.js';
import type { Settings } from './backend.js';
import { postgresMonitor } from './postgres/monitor.js';
import { sqliteMonitor } from './sqlite/monitor.js';

export async function openMonitor(settings: Settings): Promise<FarmMonitor> {
  const backend = settings.backend;
  switch (backend.name) {
    case 'sqlite':
      if (backend.path === undefined)
        throw new SessionDbError('config', `no x2gouser account to hold x2go_sessions; set [sqlite] path=... in ${settings.sqlFile}`);
      return sqliteMonitor(backend.path);
    case 'postgres':
      return postgresMonitor({ ...settings, backend });
  }
}
