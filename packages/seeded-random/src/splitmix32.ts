import { uniformBelow } from "./sampling.js";

/** The increment of splitmix32's counter: ⌊2^32 / φ⌋ rounded to odd, 0x9e3779b9. */
export const SPLITMIX32_GAMMA = 0x9e3779b9;

/**
 * splitmix32's output function: MurmurHash3's 32-bit finalizer `fmix32` (Appleby), a bijection on
 * uint32 (so `MurmurHash3_x86_32("", seed)` is `splitmix32Mix(seed)`).
 */
export function splitmix32Mix(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** One step of splitmix32's counter: `state + SPLITMIX32_GAMMA` modulo 2^32. */
export function splitmix32Step(state: number): number {
  return (state + SPLITMIX32_GAMMA) >>> 0;
}

/**
 * splitmix32: a counter stepped by {@link SPLITMIX32_GAMMA}, each output {@link splitmix32Mix} of the
 * new counter. Its whole state is one uint32, so it round-trips through JSON exactly. Period 2^32.
 */
export class SplitMix32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = splitmix32Step(this.state);
    return splitmix32Mix(this.state);
  }

  /** Uniform integer in [0, n) without modulo bias (rejection), for integer n in [1, 2^32]. */
  nextBelow(n: number): number {
    return uniformBelow(this, n);
  }

  stateDict(): { state: number } {
    return { state: this.state };
  }

  loadStateDict(sd: { state: number }): void {
    this.state = sd.state >>> 0;
  }
}
