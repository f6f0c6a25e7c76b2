// Writing the result to stdout and stderr with plain write(2) calls. process.stdout is built on
// first use (a stream, and for pipes a libuv handle), which costs each helper call more than a
// millisecond; a helper prints one short answer and exits.

import { writeSync } from 'node:fs';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `text` to `fd`, waiting out EAGAIN on a non-blocking pipe. */
export function writeAll(fd: number, text: string): void {
  let buffer = Buffer.from(text, 'utf8');
  while (buffer.length > 0) {
    try {
      buffer = buffer.subarray(writeSync(fd, buffer));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(sleeper, 0, 0, 1);
    }
  }
}
