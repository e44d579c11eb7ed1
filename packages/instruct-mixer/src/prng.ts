/**
 * xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c): 128-bit
 * state, 32-bit outputs, period 2^128 - 1. The state is seeded from one integer with
 * splitmix64, as the authors recommend, taking the low then high 32 bits of two outputs.
 *
 * Written here rather than taken from npm because the mixture must be reproducible from a
 * documented algorithm and seed; the small packages that exist either wrap Math.random or do
 * not document their seeding.
 */
export class Xoshiro128StarStar {
  private s = new Uint32Array(4);

  constructor(seed: number | bigint = 0) {
    let x = BigInt.asUintN(64, BigInt(seed));
    const words: number[] = [];
    for (let i = 0; i < 2; i++) {
      x = BigInt.asUintN(64, x + 0x9e3779b97f4a7c15n);
      let z = x;
      z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
      z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
      z = z ^ (z >> 31n);
      words.push(Number(z & 0xffffffffn), Number(z >> 32n));
    }
    this.s.set(words);
    // splitmix64 never yields four zero words in a row, but a loaded state could.
    if (this.s.every((w) => w === 0)) throw new Error("xoshiro128** state must not be all zero");
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

  /** Uniform double in [0, 1) with 53 random bits (two outputs). */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), without modulo bias (rejection), for 1 <= n <= 2^32. */
  nextBelow(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new RangeError(`nextBelow(${n})`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  stateDict(): { algorithm: "xoshiro128**"; state: number[] } {
    return { algorithm: "xoshiro128**", state: Array.from(this.s) };
  }

  loadStateDict(dict: { algorithm: string; state: number[] }): void {
    if (dict.algorithm !== "xoshiro128**" || dict.state.length !== 4 || dict.state.every((w) => w === 0))
      throw new Error("not a xoshiro128** state");
    this.s.set(dict.state.map((w) => w >>> 0));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
