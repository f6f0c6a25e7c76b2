// The setgid launcher installed into a sandbox's own prefix, with the sandbox's configuration
// compiled in: how ordinary users reach the database in these tests, as on a server.
//
// Its service socket is always one of the test's own. In service mode (support/service.ts) a
// resident service listens there for the sandbox, and every call is counted, so that the test
// can prove the service answered them all; otherwise nothing listens and the launcher runs Node.

import { chmodSync, chownSync, readFileSync } from 'node:fs';
import { shareServiceLogin } from './postgres.js';
import { join } from 'node:path';
import type { Account } from '../../src/system/accounts.js';
import { DIST, type Sandbox } from './sandbox.js';
import { launcherCalls, serviceMode, serviceUser, startServiceSync, type RunningService } from './service.js';
import { run, runAsync, type Result } from './system.js';
import { scratchDir } from './scratch.js';

export interface Installed {
  prefix: string;
  socket: string;
  /** The resident service answering this launcher, in service mode. */
  service: RunningService | undefined;
  /** A reference helper (or the wrapper name) through the launcher, as `user`. */
  helper(name: string, args: readonly string[], user?: Account, env?: Record<string, string>): Result;
  helperAsync(name: string, args: readonly string[], user?: Account): Promise<Result>;
  /** x2godb through the launcher, as `user`. */
  x2godb(args: readonly string[], user?: Account, env?: Record<string, string>): Result;
}

/** x2go-sessiondb install into a scratch prefix, asking the service at `socket`; no diversion. */
export function installPrefix(prefix: string, configDir: string, socket: string): void {
  const r = run(process.execPath, [
    join(DIST, 'x2go-sessiondb.cjs'),
    'install',
    '--no-divert',
    '--prefix',
    prefix,
    '--config',
    configDir,
    '--socket',
    socket,
  ]);
  if (r.code !== 0) throw new Error(`x2go-sessiondb install failed: ${r.stderr}`);
}

export function installLauncher(box: Sandbox, options: { service?: boolean } = {}): Installed {
  const prefix = join(box.dir, 'prefix');
  const socketDir = scratchDir('x2godb-svc-');
  // Traversable, as /run is: with no service there, the launcher must find no socket (ENOENT,
  // run Node itself), not a directory it may not enter (EACCES, exit 4). The service's account's,
  // as systemd makes /run/x2go-sessiondb for it.
  chmodSync(socketDir, 0o755);
  chownSync(socketDir, serviceUser().uid, serviceUser().gid);
  const socket = join(socketDir, 'sessiond.sock');
  installPrefix(prefix, box.configDir, socket);
  const withService = options.service ?? serviceMode();
  if (withService && readFileSync(join(box.configDir, 'x2gosql', 'sql'), 'utf8').includes('backend=postgres')) {
    shareServiceLogin(box.configDir);
  }
  const service = withService ? startServiceSync(box.configDir, socket) : undefined;
  const counted = service ? { calls: 0, service } : undefined;
  if (counted) launcherCalls.set(socket, counted);
  const count = () => {
    if (counted) counted.calls++;
  };
  const opts = (user?: Account, env?: Record<string, string>) => ({ ...(user ? { as: user } : {}), ...(env ? { env } : {}) });
  return {
    prefix,
    socket,
    service,
    helper: (name, args, user, env) => {
      count();
      return run(join(prefix, 'helpers', name), args, opts(user, env));
    },
    helperAsync: (name, args, user) => {
      count();
      return runAsync(join(prefix, 'helpers', name), args, opts(user));
    },
    x2godb: (args, user, env) => {
      count();
      return run(join(prefix, 'bin', 'x2godb'), args, opts(user, env));
    },
  };
}
