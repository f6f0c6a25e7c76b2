// Putting the service's socket in place so that, from the first moment it can be reached, only
// root and the x2gouser group reach it: created under a temporary name, given its owner and
// mode, then renamed to its place, in a directory that only root writes.

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

/** The socket's directory: root-owned, writable by root alone, traversable by the group only. */
function prepareDirectory(dir: string, gid: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new SessionDbError('config', `${dir} is not a directory`);
  chownSync(dir, 0, gid);
  chmodSync(dir, 0o750);
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
  prepareDirectory(dirname(path), gid);
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
  chownSync(pending, 0, gid);
  chmodSync(pending, 0o660);
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
