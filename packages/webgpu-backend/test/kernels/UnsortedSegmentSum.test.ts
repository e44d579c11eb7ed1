import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import { expectLikeCpu, one, runGpuTests, setupWebGpu } from "./gpu.js";

// tfjs-backend-webgpu's UnsortedSegmentSum added an id ≥ numSegments into segment id % numSegments,
// added the bits of f32 values for int32, and threw on an input with no rows.
describe.runIf(runGpuTests)("UnsortedSegmentSum (webgpu, corrected)", () => {
  beforeAll(setupWebGpu);
  const ids = (v: number[]) => tf.tensor1d(v, "int32");

  test("ids outside [0, numSegments) are dropped", async () => {
    const r = await expectLikeCpu(() =>
      tf.unsortedSegmentSum(tf.tensor([1, 2, 3, 4, 5, 6]), ids([0, -1, 2, 3, 1, 6]), 3),
    );
    expect(r[0].values).toEqual([1, 5, 3]);
  });

  test("int32 sums are int32 sums (an int32 result, as TensorFlow's; cpu's is float32)", async () => {
    const r = await one("webgpu", () =>
      tf.unsortedSegmentSum(tf.tensor([1, -2, 30, 4, 5, 600], [6], "int32"), ids([0, 1, 0, 2, 2, 1]), 3),
    );
    expect(r.dtype).toBe("int32");
    expect(r.values).toEqual([31, 598, 9]);
  });

  test("rows of rank 1..3, repeated ids (the embedding gradient), sums within float32 rounding", async () => {
    for (const inner of [[], [4], [2, 3]]) {
      const n = 40;
      const size = n * inner.reduce((a, b) => a * b, 1);
      const x = Float32Array.from({ length: size }, (_, i) => ((i * 37) % 101) / 10 - 5);
      const id = Array.from({ length: n }, (_, i) => (i * 7) % 9);
      // Sums of ≤ 5 terms of |x| ≤ 5, in another order than cpu's.
      await expectLikeCpu(() => tf.unsortedSegmentSum(tf.tensor(x, [n, ...inner]), ids(id), 9), {
        abs: 1e-5,
      });
    }
  });

  test("no rows, or no segments: zeros", async () => {
    await expectLikeCpu(() => tf.unsortedSegmentSum(tf.zeros([0, 3]), ids([]), 4));
    const r = await one("webgpu", () => tf.unsortedSegmentSum(tf.ones([2, 3]), ids([0, 1]), 0));
    expect(r.shape).toEqual([0, 3]);
  });
});
