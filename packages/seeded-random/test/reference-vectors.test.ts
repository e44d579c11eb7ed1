import { describe, expect, test } from "vitest";
import {
  Mulberry32,
  SplitMix32,
  SplitMix64,
  splitmix32Mix,
  splitmix64Words,
  Xoshiro128StarStar,
} from "../src/index.js";

// Every number in this file was computed independently of this package: by the authors' reference C
// code, compiled with `cc -O2 -Wall` (gcc, x86-64) and run, except where a comment cites published
// values. The algorithms' bodies in that program, as in their sources (main() only seeds the state as
// each test says, e.g. s = {1, 2, 3, 4}, and prints the outputs with %u / %016llx):
//
//   splitmix64.c (https://prng.di.unimi.it/splitmix64.c):
//     uint64_t z = (x += 0x9e3779b97f4a7c15);
//     z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9; z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
//     return z ^ (z >> 31);
//   xoshiro128starstar.c (https://prng.di.unimi.it/xoshiro128starstar.c), next():
//     const uint32_t result = rotl(s[1] * 5, 7) * 9; const uint32_t t = s[1] << 9;
//     s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 11);
//   mulberry32 (Tommy Ettinger, https://gist.github.com/tommyettinger/46a874533244883189143505d203312c):
//     uint32_t z = (*state += 0x6D2B79F5UL); z = (z ^ (z >> 15)) * (z | 1UL);
//     z ^= z + (z ^ (z >> 7)) * (z | 61UL); return z ^ (z >> 14);
//   fmix32 (MurmurHash3.cpp, smhasher, Appleby):
//     h ^= h >> 16; h *= 0x85ebca6b; h ^= h >> 13; h *= 0xc2b2ae35; h ^= h >> 16;
//   splitmix32 as defined here: c += 0x9e3779b9; output fmix32(c).

describe("splitmix64 against the reference C", () => {
  test("seed 0: the published first output 0xe220a8397b1dcdaf, then the next four", () => {
    const g = new SplitMix64(0);
    expect(Array.from({ length: 5 }, () => g.nextUint64())).toEqual([
      0xe220a8397b1dcdafn,
      0x6e789e6aa1b965f4n,
      0x06c45d188009454fn,
      0xf88bb8a8724c81ecn,
      0x1b39896a51a8749bn,
    ]);
  });

  test("seed 1234567", () => {
    const g = new SplitMix64(1234567n);
    expect(Array.from({ length: 5 }, () => g.nextUint64())).toEqual([
      0x599ed017fb08fc85n,
      0x2c73f08458540fa5n,
      0x883ebce5a3f27c77n,
      0x3fbef740e9177b3fn,
      0xe3b8346708cb5ecdn,
    ]);
  });

  test("words are the low then the high half of each output", () => {
    expect(splitmix64Words(0, 4)).toEqual([0x7b1dcdaf, 0xe220a839, 0xa1b965f4, 0x6e789e6a]);
    expect(splitmix64Words(0, 3)).toEqual([0x7b1dcdaf, 0xe220a839, 0xa1b965f4]);
  });
});

describe("xoshiro128** against the reference C", () => {
  test("state {1, 2, 3, 4}: first 10 outputs, the 1000th, and the state after 1000", () => {
    const g = Xoshiro128StarStar.fromState([1, 2, 3, 4]);
    const outs = Array.from({ length: 1000 }, () => g.nextUint32());
    expect(outs.slice(0, 10)).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804,
    ]);
    expect(outs[999]).toBe(3170714187);
    expect(g.getState()).toEqual([2954884481, 294556968, 2598411021, 550772539]);
  });

  test("seeded by splitmix64(0) (C: low then high words of two outputs)", () => {
    const g = new Xoshiro128StarStar(0);
    expect(g.getState()).toEqual([2065550767, 3793791033, 2713282036, 1853398634]);
    expect(Array.from({ length: 6 }, () => g.nextUint32())).toEqual([
      3737715805, 2584255861, 2876756834, 3286328325, 1553311962, 1625202774,
    ]);
  });

  test("seeded by splitmix32(42) (C: four outputs of the gamma counter through fmix32)", () => {
    const g = new Xoshiro128StarStar(42, "splitmix32");
    expect(g.getState()).toEqual([939911724, 3948730756, 321366731, 3317318717]);
    expect(Array.from({ length: 6 }, () => g.nextUint32())).toEqual([
      2837322924, 544945897, 479756282, 3500138142, 339756180, 113173290,
    ]);
  });
});

describe("mulberry32 against the reference C", () => {
  const first = (seed: number, n: number) => {
    const g = new Mulberry32(seed);
    return Array.from({ length: n }, () => g.nextUint32());
  };
  test("seeds 0, 42, 2^32-1", () => {
    expect(first(0, 6)).toEqual([1144304738, 1416247, 958946056, 627933444, 2007157716, 2340967985]);
    expect(first(42, 6)).toEqual([2581720956, 1925393290, 3661312704, 2876485805, 750819978, 2261697747]);
    expect(first(0xffffffff, 4)).toEqual([3850105811, 813802916, 3073704848, 4054706436]);
  });
  test("next() is the output over 2^32", () => {
    expect(new Mulberry32(42).next()).toBe(2581720956 / 2 ** 32);
  });
});

describe("splitmix32 against the reference C", () => {
  test("its mix is MurmurHash3's fmix32: the published MurmurHash3_x86_32 vectors of the empty key", () => {
    // MurmurHash3_x86_32("", seed) = fmix32(seed); the widely used test vectors give
    // seed 1 -> 0x514E28B7, seed 0xFFFFFFFF -> 0x81F16F39, seed 0 -> 0 (also what smhasher's C gives).
    expect(splitmix32Mix(1)).toBe(0x514e28b7);
    expect(splitmix32Mix(0xffffffff)).toBe(0x81f16f39);
    expect(splitmix32Mix(0)).toBe(0);
  });

  test("seeds 0 and 42", () => {
    const first = (seed: number) => {
      const g = new SplitMix32(seed);
      return Array.from({ length: 6 }, () => g.nextUint32());
    };
    expect(first(0)).toEqual([2462723854, 1020716019, 454327756, 1275600319, 1215922603, 3678440605]);
    expect(first(42)).toEqual([939911724, 3948730756, 321366731, 3317318717, 527392959, 2701967985]);
  });
});
