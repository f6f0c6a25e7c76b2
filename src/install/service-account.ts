// Creating the service's system account (see src/system/service-account.ts) at install time, as
// Debian's adduser --system would: no home, no login shell, no password, primary group x2gouser
// (which x2goserver's package creates). An existing account is kept as it is, once checked.

import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { adminTokenFile, makeAdminToken } from '../service/observe/auth.js';
import { lookupGroupId } from '../system/accounts.js';
import { SERVICE_GROUP, SERVICE_USER, serviceAccount } from '../system/service-account.js';
import { InstallError } from './install-launcher.js';

export function ensureServiceAccount(): string[] {
  const gid = lookupGroupId(SERVICE_GROUP);
  if (gid === undefined) throw new InstallError(`group ${SERVICE_GROUP} does not exist; is x2goserver installed?`);
  const existing = serviceAccount();
  if (existing) {
    if (existing.uid === 0 || existing.gid !== gid) {
      throw new InstallError(`account ${SERVICE_USER} exists but is not a system account of group ${SERVICE_GROUP}; remove it or fix it`);
    }
    return [];
  }
  execFileSync(
    '/usr/sbin/useradd',
    [
      '--system',
      '--gid',
      SERVICE_GROUP,
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      '--comment',
      'x2go-sessiondb service',
      SERVICE_USER,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const created = serviceAccount();
  if (!created) throw new InstallError(`useradd ${SERVICE_USER} did not create the account`);
  return [`created the system account ${SERVICE_USER} (uid ${created.uid}, group ${SERVICE_GROUP}) for x2gosessiond`];
}

/**
 * The dashboard's admin token (src/service/observe/auth.ts), the service account's, 0600: the
 * service cannot make it itself under /etc, which its unit makes read-only. An existing one is
 * kept (the administrator rotates it by removing it and installing again).
 */
export function ensureAdminToken(configDir: string): string[] {
  const file = adminTokenFile(configDir);
  const account = serviceAccount();
  if (!account || lstatSync(file, { throwIfNoEntry: false })) return [];
  makeAdminToken(file, account.uid, account.gid);
  return [`made the dashboard's admin token ${file} (${SERVICE_USER}'s, mode 600)`];
}
