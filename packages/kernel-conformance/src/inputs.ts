// Seeded random inputs (mulberry32), so a failure reproduces from its case name, and the value sets the
// cases draw from: float32 specials (NaN, ±Inf, ±0, denormals, near-overflow), int32 extremes.

import { Mulberry32, shuffleInPlace } from "@biomed-llama/seeded-random";

/** mulberry32 (from @biomed-llama/seeded-random) with the draws the cases use. */
export class Rng extends Mulberry32 {
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  shuffle<T>(xs: T[]): T[] {
    return shuffleInPlace<T, T[]>(xs, (k) => this.int(0, k - 1));
  }
}

export const SPECIAL_F32 = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  1.5,
  -2.5,
  1e-40, // denormal
  -1e-40,
  3.4e38,
  -3.4e38,
  1e-30,
  100,
  -100,
];
export const NONFINITE = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0];
export const INT32_EDGE = [
  -2147483648, 2147483647, -2147483647, 0, 1, -1, 2, -2, 3, -3, 65536, -65536, 46341, -46341,
];

export interface FloatOpts {
  lo?: number;
  hi?: number;
  /** Probability of a value from `specials`. */
  special?: number;
  specials?: readonly number[];
}
export function floats(rng: Rng, n: number, o: FloatOpts = {}): Float32Array {
  const { lo = -4, hi = 4, special = 0.1, specials = SPECIAL_F32 } = o;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.next() < special ? rng.pick(specials) : lo + (hi - lo) * rng.next();
  return a;
}
export function ints(rng: Rng, n: number, lo = -20, hi = 20, edge = 0.15): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.next() < edge ? rng.pick(INT32_EDGE) : rng.int(lo, hi);
  return a;
}
export function bools(rng: Rng, n: number): Uint8Array {
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.next() < 0.5 ? 1 : 0;
  return a;
}
export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export type DT = "float32" | "int32" | "bool";
/** Host values for `shape` of `dtype` (floats with specials unless `o.special` is 0). */
export function values(
  rng: Rng,
  dtype: DT,
  shape: number[],
  o?: FloatOpts,
): Float32Array | Int32Array | Uint8Array {
  const n = sizeOf(shape);
  return dtype === "float32" ? floats(rng, n, o) : dtype === "int32" ? ints(rng, n) : bools(rng, n);
}

/** A random shape of `rank` dims in [0, maxDim] (a 0 with probability `zero`, else ≥ 1). */
export function randShape(rng: Rng, rank: number, maxDim = 4, zero = 0.06): number[] {
  return Array.from({ length: rank }, () => (rng.next() < zero ? 0 : rng.int(1, maxDim)));
}

/** Two shapes that broadcast to a random shape of `rank` (each a suffix with some dims set to 1). */
export function broadcastPair(rng: Rng, rank: number): [number[], number[]] {
  const out = randShape(rng, rank, 4);
  const mk = () => {
    const r = rng.int(0, rank);
    return out.slice(rank - r).map((d) => (rng.next() < 0.35 ? 1 : d));
  };
  return [mk(), mk()];
}

// Fixed broadcast patterns: scalar, row, column, middle axis, both sides, size 0, rank 0..5.
export const BROADCAST_PATTERNS: [number[], number[]][] = [
  [[], []],
  [[3, 4], []],
  [[], [3, 4]],
  [[4, 5], [5]],
  [
    [4, 5],
    [4, 1],
  ],
  [
    [2, 3, 4],
    [1, 3, 1],
  ],
  [
    [2, 3, 4],
    [3, 1],
  ],
  [
    [2, 1, 4],
    [1, 3, 1],
  ],
  [
    [0, 3],
    [1, 3],
  ],
  [[0, 3], [3]],
  [[1], [1]],
  [[7], [7]],
  [
    [2, 1, 3, 1, 2],
    [1, 2, 1, 3, 1],
  ],
  [
    [2, 3, 2, 2, 3],
    [2, 3, 2, 2, 3],
  ],
  [[130, 257], [257]], // > 16384 elements: the native loops run multi-threaded
  [
    [130, 257],
    [130, 1],
  ],
  [[40000], [40000]], // one long row: split into chunks across threads
  [[2, 30000], [30000]],
  [[40000], []],
];
