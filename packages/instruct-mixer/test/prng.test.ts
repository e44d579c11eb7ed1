import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { Xoshiro128StarStar } from "../src/index.js";

// Golden values from an independent Python port of the reference C (fixtures/gen_prng_golden.py).
const golden = JSON.parse(readFileSync(new URL("./fixtures/prng-golden.json", import.meta.url), "utf8"));

describe("xoshiro128** seeded by splitmix64", () => {
  test("seeding uses splitmix64: seed 0 gives the published first output 0xe220a8397b1dcdaf", () => {
    const state = new Xoshiro128StarStar(0).stateDict().state;
    expect(state[0]).toBe(0x7b1dcdaf);
    expect(state[1]).toBe(0xe220a839);
  });

  test.each(["0", "1", "42", String(2 ** 32 + 7), String(2 ** 53 - 1)])(
    "seed %s matches the Python port",
    (seed) => {
      const g = golden[seed];
      const rng = new Xoshiro128StarStar(BigInt(seed));
      const outs = Array.from({ length: 2000 }, () => rng.nextUint32());
      expect(outs.slice(0, 16)).toEqual(g.first);
      expect(outs[1999]).toBe(g.at1999);
      expect(rng.stateDict().state).toEqual(g.stateAfter2000);
    },
  );

  test("numbers and bigints give the same stream", () => {
    expect(new Xoshiro128StarStar(42).nextUint32()).toBe(new Xoshiro128StarStar(42n).nextUint32());
  });

  test("nextFloat combines two outputs into 53 bits", () => {
    const rng = new Xoshiro128StarStar(42);
    expect([0, 1, 2, 3].map(() => rng.nextFloat())).toEqual(golden.floats42);
  });

  test("stateDict / loadStateDict resume the stream exactly", () => {
    const a = new Xoshiro128StarStar(7);
    for (let i = 0; i < 100; i++) a.nextUint32();
    const saved = a.stateDict();
    const expected = Array.from({ length: 10 }, () => a.nextUint32());
    const b = new Xoshiro128StarStar(123);
    b.loadStateDict(saved);
    expect(Array.from({ length: 10 }, () => b.nextUint32())).toEqual(expected);
    expect(() => b.loadStateDict({ algorithm: "xoshiro128**", state: [0, 0, 0, 0] })).toThrow();
  });

  test("nextBelow is uniform: chi-square over 6 cells, 60k draws, below the 0.1% critical value", () => {
    const rng = new Xoshiro128StarStar(2024);
    const cells = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) cells[rng.nextBelow(6)]++;
    const chi2 = cells.reduce((a, c) => a + (c - 10000) ** 2 / 10000, 0);
    expect(chi2).toBeLessThan(20.52); // chi2(5 dof) 0.999 quantile
    expect(() => rng.nextBelow(0)).toThrow(RangeError);
  });

  test("nextBelow rejects rather than wrapping: n = 3·2^30 keeps all values reachable and below n", () => {
    const rng = new Xoshiro128StarStar(5);
    const n = 3 * 2 ** 30;
    let top = 0;
    for (let i = 0; i < 4000; i++) {
      const x = rng.nextBelow(n);
      expect(x).toBeLessThan(n);
      if (x >= 2 ** 31) top++;
    }
    // a modulo without rejection would put 1/2 of the mass below 2^30; uniform puts 1/3 at >= 2^31
    expect(top / 4000).toBeGreaterThan(0.3);
    expect(top / 4000).toBeLessThan(0.37);
  });
});
