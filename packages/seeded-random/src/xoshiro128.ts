import { uniformBelow, unitFrom53 } from "./sampling.js";
import { SplitMix32 } from "./splitmix32.js";
import { splitmix64Words } from "./splitmix64.js";

/**
 * How one integer seed becomes xoshiro128**'s four state words:
 * - `"splitmix64"`: two splitmix64 outputs, low then high 32 bits of each (the authors' advice);
 * - `"splitmix32"`: four {@link SplitMix32} outputs of the seed taken modulo 2^32.
 */
export type XoshiroSeeding = "splitmix64" | "splitmix32";

/** The serialised state of {@link Xoshiro128StarStar}: the algorithm's name and its four words. */
export interface Xoshiro128StateDict {
  algorithm: "xoshiro128**";
  state: number[];
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c): 128-bit state,
 * 32-bit outputs, period 2^128 - 1. Seeded from one integer through splitmix64 (default) or
 * splitmix32 (see {@link XoshiroSeeding}); {@link Xoshiro128StarStar.fromState} takes the words.
 */
export class Xoshiro128StarStar {
  private readonly s = new Uint32Array(4);

  constructor(seed: number | bigint = 0, seeding: XoshiroSeeding = "splitmix64") {
    if (seeding === "splitmix64") this.s.set(splitmix64Words(seed, 4));
    else if (seeding === "splitmix32") {
      const g = new SplitMix32(typeof seed === "bigint" ? Number(BigInt.asUintN(32, seed)) : seed);
      for (let i = 0; i < 4; i++) this.s[i] = g.nextUint32();
    } else throw new Error(`unknown xoshiro128** seeding ${String(seeding)}`);
    // Neither seeding yields four zero words (splitmix32's outputs of distinct counters are distinct),
    // but a given state could.
    if (this.isZero()) throw new Error("xoshiro128** state must not be all zero");
  }

  /** A generator at the given four state words (not all zero). */
  static fromState(state: ArrayLike<number>): Xoshiro128StarStar {
    const g = new Xoshiro128StarStar(0);
    g.setState(state);
    return g;
  }

  /** Next raw 32-bit output as an unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits (two outputs, see `unitFrom53`). */
  nextFloat(): number {
    const hi = this.nextUint32();
    return unitFrom53(hi, this.nextUint32());
  }

  /** Uniform integer in [0, n) without modulo bias (rejection), for integer n in [1, 2^32]. */
  nextBelow(n: number): number {
    return uniformBelow(this, n);
  }

  /** The four state words. */
  getState(): number[] {
    return Array.from(this.s);
  }

  /** Sets the four state words; refuses anything but four words, not all zero. */
  setState(state: ArrayLike<number>): void {
    if (state.length !== 4 || Array.from(state).every((w) => w >>> 0 === 0))
      throw new Error("not a xoshiro128** state: four 32-bit words, not all zero");
    for (let i = 0; i < 4; i++) this.s[i] = state[i] >>> 0;
  }

  stateDict(): Xoshiro128StateDict {
    return { algorithm: "xoshiro128**", state: this.getState() };
  }

  loadStateDict(dict: { algorithm: string; state: number[] }): void {
    if (dict.algorithm !== "xoshiro128**") throw new Error("not a xoshiro128** state");
    this.setState(dict.state);
  }

  private isZero(): boolean {
    return this.s[0] === 0 && this.s[1] === 0 && this.s[2] === 0 && this.s[3] === 0;
  }
}
