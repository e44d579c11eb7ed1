import { uniformBelow, unitFromUint32 } from "./sampling.js";

/**
 * mulberry32 (Tommy Ettinger): a 32-bit counter stepped by 0x6d2b79f5, each output a mix of the new
 * counter. One uint32 of state, period 2^32; fast, and good enough for test inputs and shuffles.
 */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1): the next output divided by 2^32. */
  next(): number {
    return unitFromUint32(this.nextUint32());
  }

  /** Uniform integer in [0, n) without modulo bias (rejection), for integer n in [1, 2^32]. */
  nextBelow(n: number): number {
    return uniformBelow(this, n);
  }
}

/** mulberry32(seed) as a function returning uniforms in [0, 1), like `Math.random`. */
export function mulberry32(seed: number): () => number {
  const g = new Mulberry32(seed);
  return () => g.next();
}
