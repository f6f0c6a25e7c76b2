// Picking displays and ports: ascending from a start, skipping what the database holds and what
// the host reports busy. Shared by the backends' reservations.

import { SessionDbError } from './errors.js';

/** Numbers from start to end (inclusive), ascending, that none of the sets holds. */
export function* freeNumbers(start: number, end: number, ...taken: ReadonlySet<number>[]): Generator<number> {
  for (let n = start; n <= end; n++) {
    if (!taken.some((set) => set.has(n))) yield n;
  }
}

/** The first `count` free numbers, or a conflict naming what ran out. */
export function lowestFree(what: string, count: number, start: number, end: number, ...taken: ReadonlySet<number>[]): number[] {
  const picked: number[] = [];
  for (const n of freeNumbers(start, end, ...taken)) {
    picked.push(n);
    if (picked.length === count) return picked;
  }
  throw new SessionDbError('conflict', `no free ${what} between ${start} and ${end}`);
}
