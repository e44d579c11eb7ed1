import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import { expectLikeCpu, one, runGpuTests, setupWebGpu } from "./gpu.js";

// tfjs-backend-webgpu's BatchMatMul: K = 0 bound an empty buffer (a device error that poisons every
// later read); batch dims broadcasting on both sides threw; with transposeB and K not a multiple of 32
// a ±Inf / NaN in B turned unrelated outputs into NaN.
describe.runIf(runGpuTests)("BatchMatMul (webgpu, corrected)", () => {
  beforeAll(setupWebGpu);
  const vals = (n: number, seed: number) => {
    let s = seed;
    return Float32Array.from({ length: n }, () => {
      s = (s * 16807) % 2147483647;
      return (s / 2147483647) * 2 - 1;
    });
  };

  test("K = 0 gives zeros (and the device stays usable)", async () => {
    for (const [ta, tb] of [
      [false, false],
      [true, true],
    ])
      await expectLikeCpu(() =>
        tf.matMul(tf.zeros(ta ? [2, 0, 3] : [2, 3, 0]), tf.zeros(tb ? [2, 4, 0] : [2, 0, 4]), ta, tb),
      );
    expect((await one("webgpu", () => tf.add(tf.ones([2]), 1))).values).toEqual([2, 2]);
  });

  test("batch dims that broadcast on both sides", async () => {
    const a = vals(2 * 3 * 4, 1);
    const b = vals(3 * 4 * 5, 2);
    const got = await one("webgpu", () => tf.matMul(tf.tensor(a, [2, 1, 3, 4]), tf.tensor(b, [1, 3, 4, 5])));
    // cpu's own kernel is malformed here: broadcast first.
    const want = await one("cpu", () =>
      tf.matMul(
        tf.broadcastTo(tf.tensor(a, [2, 1, 3, 4]), [2, 3, 3, 4]),
        tf.broadcastTo(tf.tensor(b, [1, 3, 4, 5]), [2, 3, 4, 5]),
      ),
    );
    expect(got.shape).toEqual([2, 3, 3, 5]);
    const off = got.values.filter((v, i) => !(Math.abs(v - want.values[i]) < 1e-5));
    expect(off).toEqual([]);
  });

  test("transposeB with K = 130: an Inf in one row of B leaves the other outputs finite", async () => {
    const a = vals(65 * 130, 3);
    const b = vals(67 * 130, 4);
    b[20 * 130 + 7] = Number.POSITIVE_INFINITY; // row 20 of B: output column 20
    b[41 * 130 + 129] = Number.NaN; // row 41: output column 41
    const got = await expectLikeCpu(
      () => tf.matMul(tf.tensor(a, [65, 130]), tf.tensor(b, [67, 130]), false, true),
      { rel: 1e-5, abs: 1e-4 },
    );
    const nonFinite = got[0].values.flatMap((v, i) => (Number.isFinite(v) ? [] : [i % 67]));
    expect(new Set(nonFinite)).toEqual(new Set([20, 41]));
  });

  test("finite products match cpu (no transpose, transposeA, transposeB, both)", async () => {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      const a = vals(33 * 70, 5);
      const b = vals(70 * 20, 6);
      await expectLikeCpu(
        () =>
          tf.matMul(tf.tensor(a, ta ? [70, 33] : [33, 70]), tf.tensor(b, tb ? [20, 70] : [70, 20]), ta, tb),
        // (K + 2) float32 ulps of Σ|a||b| ≤ 72 · 2^-23 · 70
        { rel: 1e-5, abs: 1e-3 },
      );
    }
  });
});
