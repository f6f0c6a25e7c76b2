// Putting the service's socket in place so that, from the first moment it can be reached, only
// the service, root and the x2gouser group reach it: created under a temporary name, given its
// owner and mode, then renamed to its place, in a directory that only the service (its account,
// _x2gosessiond, or root) writes. The directory is made at install time, or by systemd
// (RuntimeDirectory=), for the service's account: /run is root's.

import { chmodSync, chownSync, lstatSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { dirname } from 'node:path';
import { SessionDbError } from '../model/errors.js';

/** Whether something answers on `path` (a live service), or it is a leftover of a dead one. */
function alive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * The socket's directory: the service's own (it runs as _x2gosessiond, or as root), writable by
 * it alone, listable by the group only and traversable by all (the watch socket, which every
 * user may use, is there too; the service's own socket keeps users out by its mode, 0660).
 */
function prepareDirectory(dir: string, uid: number, gid: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o751 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new SessionDbError('config', `${dir} is not a directory`);
  if (st.uid !== uid && uid !== 0) {
    throw new SessionDbError('config', `${dir} must belong to the service's account (uid ${uid}), not uid ${st.uid}`);
  }
  // As the service's account the owner is right already (systemd's RuntimeDirectory=, or install):
  // no chown, which the unit's system call filter refuses.
  if (st.uid !== uid || st.gid !== gid) chownSync(dir, uid, gid);
  chmodSync(dir, 0o751);
  // Every directory above must be root's and not writable by others, or someone could swap it.
  for (let up = dirname(dir); ; up = dirname(up)) {
    const parent = statSync(up);
    // Sticky (as /tmp): others may write there, but not rename or remove what is root's.
    const foreignWritable = (parent.mode & 0o022) !== 0 && (parent.mode & 0o1000) === 0;
    if (parent.uid !== 0 || foreignWritable) {
      throw new SessionDbError('config', `${up} (above the socket) must be root's and writable by root alone`);
    }
    if (up === '/') break;
  }
}

export async function listenOnSocket(server: Server, path: string, gid: number): Promise<void> {
  const uid = process.geteuid?.() ?? 0;
  prepareDirectory(dirname(path), uid, gid);
  await listenInPlace(server, path, 0o660, { uid, gid });
}

/**
 * Listens on `path`, refused when a live service answers there: under a temporary name, given
 * its owner (when it is not what the socket was made with) and mode, then renamed into place,
 * so that nobody connects before the mode is set. The caller has checked the directory.
 */
export async function listenInPlace(server: Server, path: string, mode: number, owner?: { uid: number; gid: number }): Promise<void> {
  if (await alive(path)) throw new SessionDbError('conflict', `another x2gosessiond answers on ${path}`);
  const pending = `${path}.${process.pid}`;
  rmSync(pending, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(pending, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Created with the service's uid and group (x2gouser, its primary group) unless run as root.
  const made = statSync(pending);
  if (owner && (made.uid !== owner.uid || made.gid !== owner.gid)) chownSync(pending, owner.uid, owner.gid);
  chmodSync(pending, mode);
  renameSync(pending, path);
}

/** Removes the socket if it is still ours (a newer service may have replaced it). */
export function removeSocket(path: string, inode: number | undefined): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st && st.ino === inode) rmSync(path, { force: true });
}

export function inodeOf(path: string): number | undefined {
  return statSync(path, { throwIfNoEntry: false })?.ino;
}
