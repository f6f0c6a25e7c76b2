// UNIX accounts and groups, as the system's user database knows them. The local files answer
// without starting a process; getent (at a fixed path, no shell, empty environment) answers for
// accounts that come from NSS modules (LDAP, sssd, winbind).

import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';

const GETENT = '/usr/bin/getent';

/**
 * A local file's lines split into fields, read again only when the file changed (its inode,
 * size or time): the service looks up every caller's uid, and reading and splitting
 * /etc/passwd each time cost a request a fifth of its time.
 */
const localFiles = new Map<string, { stamp: string; entries: string[][] }>();

function entriesOf(file: string): string[][] | undefined {
  try {
    const st = statSync(file);
    const stamp = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    const known = localFiles.get(file);
    if (known?.stamp === stamp) return known.entries;
    const entries = readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => line.split(':'));
    localFiles.set(file, { stamp, entries });
    return entries;
  } catch {
    // unreadable: ask getent
    return undefined;
  }
}

function fromFile(file: string, name: string): string[] | undefined {
  return entriesOf(file)?.find((fields) => fields[0] === name);
}

function fromGetent(database: 'passwd' | 'group', key: string): string[] | undefined {
  // Loaded here, not at the top: child_process costs every helper call start-up time, and it
  // is needed only for accounts that are not in the local files.
  const { execFileSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  try {
    const out = execFileSync(GETENT, [database, key], { encoding: 'utf8', env: {}, stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n')[0]?.split(':');
  } catch {
    return undefined;
  }
}

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export function lookupUser(name: string): Account | undefined {
  // A name with ':' or a newline would split the file's lines differently; no such account exists.
  if (!/^[^:\n\0]+$/.test(name)) return undefined;
  const f = fromFile('/etc/passwd', name) ?? fromGetent('passwd', name);
  if (!f || f.length < 7) return undefined;
  return { name: f[0] ?? name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' };
}

/** The account of a uid (the service learns callers by uid). */
export function lookupUid(uid: number): Account | undefined {
  const key = String(uid);
  const f = entriesOf('/etc/passwd')?.find((fields) => fields[2] === key) ?? fromGetent('passwd', key);
  if (!f || f.length < 7 || Number(f[2]) !== uid) return undefined;
  return { name: f[0] ?? '', uid, gid: Number(f[3]), home: f[5] ?? '' };
}

export function userExists(name: string): boolean {
  return lookupUser(name) !== undefined;
}

export function lookupGroupId(name: string): number | undefined {
  if (!/^[^:\n\0]+$/.test(name)) return undefined;
  const f = fromFile('/etc/group', name) ?? fromGetent('group', name);
  return f && f.length >= 3 ? Number(f[2]) : undefined;
}

/**
 * The members of a group: those listed in it, and those whose primary group it is (the
 * reference forgot the latter). Accounts from NSS are seen as far as the system enumerates them.
 */
export function groupMembers(group: string, gid: number): Account[] {
  const names = new Set<string>();
  const entry = fromFile('/etc/group', group) ?? fromGetent('group', group);
  for (const member of (entry?.[3] ?? '').split(',')) if (member) names.add(member);
  for (const line of everyAccount()) {
    const fields = line.split(':');
    if (fields[0] && Number(fields[3]) === gid) names.add(fields[0]);
  }
  return [...names].map((n) => lookupUser(n)).filter((a): a is Account => a !== undefined);
}

function everyAccount(): string[] {
  const { execFileSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  try {
    return execFileSync(GETENT, ['passwd'], { encoding: 'utf8', env: {}, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n');
  } catch {
    return readFileSync('/etc/passwd', 'utf8').split('\n');
  }
}

const ID = '/usr/bin/id';

/**
 * The names of a user's groups as their login gets them (primary and supplementary, from every
 * NSS source), which is what x2gosessionlimit reads from its own process ($REAL_GROUP_ID). Asked
 * of id(1) at a fixed path, so the service, which has no process of the user's, gets the same.
 */
export function groupsOfUser(name: string): string[] {
  if (!/^[^:\n\0]+$/.test(name)) return [];
  const { execFileSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  try {
    return execFileSync(ID, ['-Gn', '--', name], { encoding: 'utf8', env: {}, stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split(/\s+/)
      .filter(Boolean);
  } catch {
    return [];
  }
}
