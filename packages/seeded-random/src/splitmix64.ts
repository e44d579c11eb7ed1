/**
 * splitmix64 (Steele, Lea & Flood; Vigna's reference https://prng.di.unimi.it/splitmix64.c): a 64-bit
 * counter stepped by 0x9e3779b97f4a7c15, each output a mix of the new counter. On BigInt, so it is for
 * seeding other generators, not for hot loops.
 */
export class SplitMix64 {
  private x: bigint;

  /** Any integer seed; taken modulo 2^64 (a negative one as its two's complement). */
  constructor(seed: number | bigint) {
    this.x = BigInt.asUintN(64, BigInt(seed));
  }

  /** Next 64-bit output. */
  nextUint64(): bigint {
    this.x = BigInt.asUintN(64, this.x + 0x9e3779b97f4a7c15n);
    let z = this.x;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  }
}

/** `count` 32-bit words from splitmix64(seed): the low then the high half of each output. */
export function splitmix64Words(seed: number | bigint, count: number): number[] {
  const g = new SplitMix64(seed);
  const words: number[] = [];
  while (words.length < count) {
    const z = g.nextUint64();
    words.push(Number(z & 0xffffffffn), Number(z >> 32n));
  }
  return words.slice(0, count);
}
