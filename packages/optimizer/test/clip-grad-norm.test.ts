import { describe, expect, test } from "vitest";
import { clipGradNorm, sumOfSquares } from "../src/clip-grad-norm";
import { OptimizerInputError } from "../src/errors";

function randomArray(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 31 - 1) * scale;
  }
  return out;
}

/** An in-memory stand-in for a shard group's all-reduce: resolves once all `size` ranks called. */
function summingGroup(size: number): (s: number) => Promise<number> {
  const parts: number[] = [];
  const waiters: ((total: number) => void)[] = [];
  return (s) =>
    new Promise((resolve) => {
      parts.push(s);
      waiters.push(resolve);
      if (parts.length === size) {
        const total = parts.reduce((a, b) => a + b, 0);
        for (const w of waiters) w(total);
      }
    });
}

describe("clipGradNorm", () => {
  test("3-4-5 vector is scaled to the max norm", async () => {
    const g = [new Float32Array([3]), new Float32Array([4])];
    const norm = await clipGradNorm(g, 1);
    expect(norm).toBe(5);
    expect(g[0]?.[0]).toBeCloseTo(0.6, 6);
    expect(g[1]?.[0]).toBeCloseTo(0.8, 6);
    expect(Math.hypot(g[0]?.[0] as number, g[1]?.[0] as number)).toBeLessThanOrEqual(1);
  });

  test("a gradient under the max norm is untouched", async () => {
    const g = [new Float32Array([0.3, 0.4])];
    expect(await clipGradNorm(g, 1)).toBeCloseTo(0.5, 7);
    expect(Array.from(g[0] as Float32Array)).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });

  test("sum of squares accumulates in float64", () => {
    // 1 + 1e-8 · 1e4 elements: a float32 accumulator would lose every 1e-8.
    const g = new Float32Array(10001).fill(1e-4);
    g[0] = 1;
    const x = Math.fround(1e-4);
    expect(sumOfSquares([g])).toBeCloseTo(1 + x * x * 1e4, 12);
    expect(Math.abs(sumOfSquares([g]) - 1.0001)).toBeLessThan(1e-10);
  });

  test("sharded over 4 ranks with a summing reduce equals the unsharded result", async () => {
    const full = randomArray(1003, 42, 3);
    const reference = [Float32Array.from(full)];
    const refNorm = await clipGradNorm(reference, 1);
    // Uneven shards, each split into two tensors, as FSDP units give.
    const bounds = [0, 250, 500, 751, 1003];
    const shards = [0, 1, 2, 3].map((r) => {
      const s = full.slice(bounds[r], bounds[r + 1]);
      return [s.subarray(0, 100), s.subarray(100)];
    });
    const reduce = summingGroup(4);
    const norms = await Promise.all(shards.map((g) => clipGradNorm(g, 1, { reduceSumOfSquares: reduce })));
    for (const n of norms) expect(n).toBeCloseTo(refNorm, 10);
    const joined = shards.flatMap((g) => g.flatMap((t) => Array.from(t)));
    expect(joined).toEqual(Array.from(reference[0] as Float32Array));
    expect(refNorm).toBeGreaterThan(1);
  });

  test("non-finite norm is returned and nothing is scaled", async () => {
    const nan = [new Float32Array([1, Number.NaN, 100])];
    expect(await clipGradNorm(nan, 1)).toBeNaN();
    expect(nan[0]?.[2]).toBe(100);
    const inf = [new Float32Array([Number.POSITIVE_INFINITY, 100])];
    expect(await clipGradNorm(inf, 1)).toBe(Number.POSITIVE_INFINITY);
    expect(inf[0]?.[1]).toBe(100);
    // Finite float32 values whose squares overflow float32 still give a finite float64 norm.
    const big = [new Float32Array([3e38, 3e38])];
    expect(await clipGradNorm(big, 1)).toBeCloseTo(Math.fround(3e38) * Math.SQRT2, -25);
    expect(big[0]?.[0]).toBeLessThan(1);
  });

  test("maxNorm must be positive", async () => {
    await expect(clipGradNorm([new Float32Array(1)], 0)).rejects.toThrow(OptimizerInputError);
  });
});
