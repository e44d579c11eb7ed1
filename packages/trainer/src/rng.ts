/**
 * A small seedable PRNG (SplitMix32 over a 32-bit counter) whose whole state is one integer, so it
 * round-trips through a checkpoint's JSON exactly. Math.random cannot be seeded or saved.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform integer in [0, n) without modulo bias (rejection sampling). */
  nextInt(n: number): number {
    if (!(n > 0 && n <= 2 ** 32)) throw new RangeError(`Rng.nextInt: n must be in (0, 2^32], got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  stateDict(): { state: number } {
    return { state: this.state };
  }

  loadStateDict(sd: { state: number }): void {
    this.state = sd.state >>> 0;
  }
}

/** Fisher–Yates permutation of [0, n) drawn from a fresh Rng(seed). */
export function seededPermutation(n: number, seed: number): Uint32Array {
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}
