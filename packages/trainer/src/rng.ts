import { permutation, SplitMix32 } from "@biomed-llama/seeded-random";

/**
 * The trainer's seedable PRNG: splitmix32 (from @biomed-llama/seeded-random), whose whole state is one
 * integer, so it round-trips through a checkpoint's JSON exactly. Math.random cannot be seeded or saved.
 */
export class Rng extends SplitMix32 {
  /** Uniform integer in [0, n) without modulo bias (rejection sampling). */
  nextInt(n: number): number {
    return this.nextBelow(n);
  }
}

/** Fisher–Yates permutation of [0, n) drawn from a fresh Rng(seed). */
export function seededPermutation(n: number, seed: number): Uint32Array {
  const rng = new Rng(seed);
  return permutation(n, (k) => rng.nextBelow(k));
}
