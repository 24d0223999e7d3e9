import { pseudoRandomBytes, textBytes } from './data.js';

const shared = pseudoRandomBytes('crash-shared', 2_000_000);

/** Object i of a round: sizes from 0 to ~1.5 MB, part shared across objects so dedup paths run too. */
export function crashObject(round: number, i: number): Buffer {
  const kind = (round * 31 + i) % 4;
  if (kind === 0) return pseudoRandomBytes(`crash-${round}-${i}`, 50_000 + ((i * 7919) % 900_000));
  if (kind === 1) return Buffer.concat([shared.subarray((i * 1000) % 500_000, 1_000_000), pseudoRandomBytes(`u-${round}-${i}`, 10_000)]);
  if (kind === 2) return textBytes(`crash-text-${round}-${i}`, 200_000 + (i % 5) * 100_000);
  return i % 8 === 3 ? Buffer.alloc(0) : pseudoRandomBytes(`small-${round}-${i}`, 1 + (i % 3000));
}
