import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import { expectLikeCpu, one, runGpuTests, setupWebGpu } from "./gpu.js";

// tfjs-backend-webgpu's ArgMax: shape [1] for a rank-1 input; an empty axis bound an empty buffer (a
// device error that poisons every later read); rows of 32 or more returned any tied index, not the
// first, and skipped a leading NaN.
describe.runIf(runGpuTests)("ArgMax (webgpu, corrected)", () => {
  beforeAll(setupWebGpu);

  test("a rank-1 input gives a scalar", async () => {
    const r = await expectLikeCpu(() => tf.argMax(tf.tensor([1, 5, 2]), 0));
    expect(r[0].shape).toEqual([]);
    expect(r[0].values).toEqual([1]);
    expect((await one("webgpu", () => tf.argMax(tf.tensor([3]), -1))).shape).toEqual([]);
  });

  test("an empty axis gives zeros", async () => {
    await expectLikeCpu(() => tf.argMax(tf.zeros([2, 0]), 1));
    await expectLikeCpu(() => tf.argMax(tf.zeros([2, 0, 3]), 1));
  });

  test("ties give the first index; NaN first gives 0; all NaN gives 0 (rows of 70)", async () => {
    const rows = 6;
    const x = new Float32Array(rows * 70).fill(1);
    for (const i of [40, 69, 3]) x[i] = 5; // row 0: first max at 3
    for (const i of [70 + 33, 70 + 64]) x[i] = Number.POSITIVE_INFINITY; // row 1: 33
    x[140] = Number.NaN; // row 2: NaN first → 0
    x[140 + 50] = 9;
    for (let i = 0; i < 70; i++) x[210 + i] = Number.NaN; // row 3: all NaN → 0
    for (let i = 0; i < 70; i++) x[280 + i] = Number.NEGATIVE_INFINITY; // row 4: all -Inf → 0
    x[350 + 69] = Number.NaN; // row 5: all 1 → 0
    const r = await expectLikeCpu(() => tf.argMax(tf.tensor(x, [rows, 70]), 1));
    expect(r[0].values).toEqual([3, 33, 0, 0, 0, 0]);
    await expectLikeCpu(() => tf.argMax(tf.tensor(x, [rows, 70]), 0));
  });

  test("random rows with many ties, both axes", async () => {
    let s = 7;
    const x = Float32Array.from({ length: 300 * 70 }, () => {
      s = (s * 16807) % 2147483647;
      return s % 7;
    });
    await expectLikeCpu(() => tf.argMax(tf.tensor(x, [300, 70]), 1));
    await expectLikeCpu(() => tf.argMax(tf.tensor(x, [300, 70]), 0));
  });
});
