// The trailer of an X2DB3 request (protocol.ts): one frame after the go-ahead, u32 length then
// its bytes, collected as it comes and joined once, bounded in size and in time. Bytes after it
// are neither kept nor read as anything.

import { ProtocolError } from './protocol.js';

export class TrailerFrame {
  readonly text: Promise<string>;
  #resolve!: (text: string) => void;
  #reject!: (err: Error) => void;
  readonly #max: number;
  readonly #pieces: Buffer[] = [];
  #received = 0;
  #length: number | undefined;
  #settled = false;
  readonly #timer: NodeJS.Timeout;
  readonly #onSettled: () => void;

  /** `onSettled` runs once, when the frame is whole or has failed. */
  constructor(max: number, timeoutMs: number, onSettled: () => void) {
    this.#max = max;
    this.#onSettled = onSettled;
    this.text = new Promise<string>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A command that failed before it awaited its trailer leaves nobody to hear this one fail.
    this.text.catch(() => undefined);
    this.#timer = setTimeout(() => this.fail(`the trailer did not come within ${timeoutMs / 1000} s`), timeoutMs);
  }

  push(chunk: Buffer): void {
    if (this.#settled || chunk.length === 0) return;
    this.#pieces.push(chunk);
    this.#received += chunk.length;
    if (this.#received < 4) return;
    if (this.#length === undefined) {
      this.#length = Buffer.concat(this.#pieces, this.#received).readUInt32BE(0);
      if (this.#length > this.#max) {
        this.fail(`trailer of ${this.#length} bytes, more than ${this.#max}`);
        return;
      }
    }
    if (this.#received < 4 + this.#length) return;
    const whole = Buffer.concat(this.#pieces, this.#received)
      .subarray(4, 4 + this.#length)
      .toString('utf8');
    this.#settle();
    this.#resolve(whole);
  }

  fail(reason: string): void {
    if (this.#settled) return;
    this.#settle();
    this.#reject(new ProtocolError(reason));
  }

  #settle(): void {
    this.#settled = true;
    this.#pieces.length = 0;
    clearTimeout(this.#timer);
    this.#onSettled();
  }
}
