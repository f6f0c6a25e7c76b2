// chmod as root without being turned onto another file: through a descriptor opened without
// following a link, checked to be still the kind of file that was judged. Used by repairs of
// files in directories other users may write to.

import { closeSync, constants, fchmodSync, fstatSync, openSync } from 'node:fs';

export function chmodNoFollow(target: string, kind: 'file' | 'directory', mode: (old: number) => number): void {
  const directory = kind === 'directory';
  const fd = openSync(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | (directory ? constants.O_DIRECTORY : 0));
  try {
    const st = fstatSync(fd);
    if (directory ? !st.isDirectory() : !st.isFile()) throw new Error(`${target} is no longer a ${kind}; left unchanged`);
    fchmodSync(fd, mode(st.mode & 0o7777));
  } finally {
    closeSync(fd);
  }
}
