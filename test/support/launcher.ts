// The setgid launcher installed into a sandbox's own prefix, with the sandbox's configuration
// compiled in: how ordinary users reach the database in these tests, as on a server.

import { join } from 'node:path';
import type { Account } from '../../src/system/accounts.js';
import { DIST, type Sandbox } from './sandbox.js';
import { run, runAsync, type Result } from './system.js';

export interface Installed {
  prefix: string;
  /** A reference helper (or the wrapper name) through the launcher, as `user`. */
  helper(name: string, args: readonly string[], user?: Account, env?: Record<string, string>): Result;
  helperAsync(name: string, args: readonly string[], user?: Account): Promise<Result>;
  /** x2godb through the launcher, as `user`. */
  x2godb(args: readonly string[], user?: Account, env?: Record<string, string>): Result;
}

export function installLauncher(box: Sandbox): Installed {
  const prefix = join(box.dir, 'prefix');
  const r = run(process.execPath, [join(DIST, 'x2go-sessiondb.cjs'), 'install', '--no-divert', '--prefix', prefix, '--config', box.configDir]);
  if (r.code !== 0) throw new Error(`x2go-sessiondb install failed: ${r.stderr}`);
  const opts = (user?: Account, env?: Record<string, string>) => ({ ...(user ? { as: user } : {}), ...(env ? { env } : {}) });
  return {
    prefix,
    helper: (name, args, user, env) => run(join(prefix, 'helpers', name), args, opts(user, env)),
    helperAsync: (name, args, user) => runAsync(join(prefix, 'helpers', name), args, opts(user)),
    x2godb: (args, user, env) => run(join(prefix, 'bin', 'x2godb'), args, opts(user, env)),
  };
}
