// Doing something in a user's home as that user. x2godbadmin runs as root and writes a user's
// password file; done as root, a user who replaced ~/.x2go with a symlink could make root
// write (and chown) any file. With the effective uid, gid and groups of the user, the kernel
// applies the user's own rights, so such a trick only reaches the user's own files.

import type { Account } from './accounts.js';

export function asUser<T>(account: Account, work: () => T): T {
  const groups = process.getgroups?.() ?? [];
  process.setgroups?.([account.gid]);
  process.setegid?.(account.gid);
  process.seteuid?.(account.uid);
  try {
    return work();
  } finally {
    process.seteuid?.(0);
    process.setegid?.(0);
    process.setgroups?.(groups);
  }
}
