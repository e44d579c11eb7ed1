import { describe, expect, test } from "vitest";
import {
  BoxMuller,
  Mulberry32,
  mulberry32,
  permutation,
  SplitMix32,
  shuffleInPlace,
  uniformBelow,
  unitFrom53,
  unitFromUint32,
  Xoshiro128StarStar,
} from "../src/index.js";

/** A source that replays fixed outputs, to test the helpers on known inputs. */
function replay(values: number[]) {
  let i = 0;
  return {
    nextUint32: () => {
      if (i >= values.length) throw new Error("replay exhausted");
      return values[i++];
    },
    get used() {
      return i;
    },
  };
}

describe("uniformBelow", () => {
  test("rejects outputs at or above the largest multiple of n, then reduces modulo n", () => {
    // n = 3·2^30: limit = 2^32 - (2^32 mod n) = 3·2^30, so 3·2^30 and above are redrawn.
    const src = replay([3 * 2 ** 30, 2 ** 32 - 1, 3 * 2 ** 30 - 1]);
    expect(uniformBelow(src, 3 * 2 ** 30)).toBe(3 * 2 ** 30 - 1);
    expect(src.used).toBe(3);
    expect(uniformBelow(replay([10]), 7)).toBe(3);
    expect(uniformBelow(replay([2 ** 32 - 1]), 2 ** 32)).toBe(2 ** 32 - 1);
  });

  test("refuses n outside the integers 1..2^32", () => {
    for (const n of [0, -1, 2.5, 2 ** 32 + 1, Number.NaN])
      expect(() => uniformBelow(replay([0]), n)).toThrow(RangeError);
  });

  test("every generator's nextBelow is uniform: chi-square over 6 cells, 60k draws", () => {
    for (const g of [new SplitMix32(1), new Mulberry32(1), new Xoshiro128StarStar(1)]) {
      const cells = new Array(6).fill(0);
      for (let i = 0; i < 60000; i++) cells[g.nextBelow(6)]++;
      const chi2 = cells.reduce((a, c) => a + (c - 10000) ** 2 / 10000, 0);
      expect(chi2).toBeLessThan(20.52); // chi2(5 dof) 0.999 quantile
    }
  });
});

describe("unit floats", () => {
  test("32-bit and 53-bit constructions", () => {
    expect(unitFromUint32(0)).toBe(0);
    expect(unitFromUint32(2 ** 32 - 1)).toBe(1 - 2 ** -32);
    expect(unitFrom53(0xffffffff, 0xffffffff)).toBe(1 - 2 ** -53);
    expect(unitFrom53(1 << 5, 0)).toBe(2 ** -27);
    expect(unitFrom53(0, 1 << 6)).toBe(2 ** -53);
  });
});

describe("Fisher–Yates", () => {
  test("swaps i with below(i + 1) from the last element down", () => {
    const calls: number[] = [];
    const xs = shuffleInPlace(["a", "b", "c", "d"], (k) => {
      calls.push(k);
      return 0;
    });
    expect(calls).toEqual([4, 3, 2]);
    // i=3 <-> 0: d b c a; i=2 <-> 0: c b d a; i=1 <-> 0: b c d a
    expect(xs).toEqual(["b", "c", "d", "a"]);
  });

  test("permutation gives each of 0..n-1 once, and the identity for n <= 1", () => {
    const g = new SplitMix32(7);
    const p = permutation(1000, (k) => g.nextBelow(k));
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(p.slice(0, 20))).not.toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(Array.from(permutation(0, () => 0))).toEqual([]);
    expect(Array.from(permutation(1, () => 0))).toEqual([0]);
  });

  test("all 6 orders of 3 elements are equally likely", () => {
    const rand = mulberry32(3);
    const counts = new Map<string, number>();
    for (let i = 0; i < 60000; i++) {
      const key = Array.from(permutation(3, (k) => Math.floor(rand() * k))).join("");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    const chi2 = [...counts.values()].reduce((a, c) => a + (c - 10000) ** 2 / 10000, 0);
    expect(chi2).toBeLessThan(20.52);
  });
});

describe("BoxMuller", () => {
  test("r·cos θ then the spare r·sin θ, u = 0 redrawn", () => {
    const src = replay([0, 2 ** 31, 2 ** 30, 2 ** 30, 0x40000000 * 3]);
    const n = new BoxMuller(src);
    const r = Math.sqrt(-2 * Math.log(0.5));
    expect(n.next()).toBe(r * Math.cos(2 * Math.PI * 0.25));
    expect(src.used).toBe(3);
    expect(n.spare).toBe(r * Math.sin(2 * Math.PI * 0.25));
    expect(n.next()).toBe(r * Math.sin(2 * Math.PI * 0.25));
    expect(n.spare).toBeNull();
    expect(src.used).toBe(3);
  });

  test("mean 0 and variance 1 over 200k draws", () => {
    const n = new BoxMuller(new Xoshiro128StarStar(11, "splitmix32"));
    let s = 0;
    let s2 = 0;
    const N = 200000;
    for (let i = 0; i < N; i++) {
      const x = n.next();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / N)).toBeLessThan(0.01);
    expect(Math.abs(s2 / N - 1)).toBeLessThan(0.02);
  });
});

describe("state", () => {
  test("SplitMix32 resumes from its stateDict", () => {
    const a = new SplitMix32(2 ** 31 + 5);
    for (let i = 0; i < 10; i++) a.nextUint32();
    const b = new SplitMix32(0);
    b.loadStateDict(JSON.parse(JSON.stringify(a.stateDict())));
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(
      Array.from({ length: 5 }, () => a.nextUint32()),
    );
  });

  test("xoshiro128** resumes from its stateDict and refuses bad states", () => {
    const a = new Xoshiro128StarStar(7);
    for (let i = 0; i < 100; i++) a.nextUint32();
    const b = new Xoshiro128StarStar(123, "splitmix32");
    b.loadStateDict(JSON.parse(JSON.stringify(a.stateDict())));
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(
      Array.from({ length: 5 }, () => a.nextUint32()),
    );
    expect(() => b.loadStateDict({ algorithm: "xoshiro128**", state: [0, 0, 0, 0] })).toThrow();
    expect(() => b.loadStateDict({ algorithm: "xoshiro128**", state: [1, 2, 3] })).toThrow();
    expect(() => b.loadStateDict({ algorithm: "pcg32", state: [1, 2, 3, 4] })).toThrow();
    expect(() => Xoshiro128StarStar.fromState([0, 0, 0, 0])).toThrow();
  });

  test("seeds: numbers and bigints agree, modulo 2^64 (splitmix64) or 2^32 (splitmix32)", () => {
    const first = (g: Xoshiro128StarStar) => g.nextUint32();
    expect(first(new Xoshiro128StarStar(42))).toBe(first(new Xoshiro128StarStar(42n)));
    expect(first(new Xoshiro128StarStar(-1))).toBe(first(new Xoshiro128StarStar(2n ** 64n - 1n)));
    expect(first(new Xoshiro128StarStar(2 ** 32 + 9, "splitmix32"))).toBe(
      first(new Xoshiro128StarStar(9, "splitmix32")),
    );
    expect(first(new Xoshiro128StarStar(2n ** 32n + 9n, "splitmix32"))).toBe(
      first(new Xoshiro128StarStar(9, "splitmix32")),
    );
  });
});
