// Who is on the other end of a connection to the service, as the kernel says (SO_PEERCRED):
// the service authorizes by this uid alone, never by the one written in a request.
//
// Node has no API for SO_PEERCRED and no well-kept npm package provides it, so it comes from a
// 30-line N-API addon of ours (src/native/peercred.c), built with cc like the setgid launcher:
// by scripts/build.mjs into dist/, by x2go-sessiondb install into the prefix, beside this bundle.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

interface PeerCredAddon {
  peerCredentials(fd: number): PeerCredentials;
}

/** The addon's file: beside the bundle (dist/ or the prefix). */
export const ADDON_FILE = 'peercred.node';

let addon: PeerCredAddon | undefined;

/** Loads the addon now: the service refuses to start without it rather than trust requests. */
export function loadPeerCredentials(): void {
  const path = fileURLToPath(new URL(`./${ADDON_FILE}`, import.meta.url));
  try {
    addon = createRequire(import.meta.url)(path) as PeerCredAddon;
  } catch (err) {
    throw new Error(
      `cannot load ${path} (build it: node scripts/build.mjs, or x2go-sessiondb install): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/**
 * The part of a net.Socket's internal handle this reads: libuv's pipe handle has the file
 * descriptor as `fd` (-1 once closed). Not a public API of Node, so it is checked, not assumed.
 */
interface PipeHandle {
  fd?: unknown;
}

/** The peer of an accepted Unix socket connection; throws if it cannot be known. */
export function peerOf(socket: Socket): PeerCredentials {
  if (!addon) throw new Error('peer credentials: the addon is not loaded');
  const fd = (socket as unknown as { _handle?: PipeHandle | null })._handle?.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) throw new Error('peer credentials: the connection has no file descriptor');
  return addon.peerCredentials(fd);
}
