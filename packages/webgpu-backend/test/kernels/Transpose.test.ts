import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import { expectLikeCpu, one, runGpuTests, setupWebGpu } from "./gpu.js";

// tfjs-backend-webgpu's TransposeProgram did not compile for int32 / bool (a device error that poisons
// every later read); its reductions transpose internally, so they failed the same way.
describe.runIf(runGpuTests)("Transpose program fix (webgpu)", () => {
  beforeAll(setupWebGpu);
  const big = [2147483647, -2147483648, 16777217, -16777219, 0, 1, -1, 65536, 46341, -46341, 7, -7];

  test("int32 and bool transposes of rank 2..6 are exact (int32 beyond 2^24 too)", async () => {
    for (const [shape, perm] of [
      [
        [4, 3],
        [0, 1],
      ],
      [
        [2, 3, 2],
        [2, 0, 1],
      ],
      [
        [1, 3, 2, 2],
        [3, 1, 0, 2],
      ],
      [
        [2, 1, 3, 1, 2],
        [4, 3, 2, 1, 0],
      ],
      [
        [1, 2, 1, 3, 1, 2],
        [5, 0, 4, 1, 3, 2],
      ],
    ] as [number[], number[]][]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const v = Int32Array.from({ length: n }, (_, i) => big[i % big.length]);
      await expectLikeCpu(() => tf.transpose(tf.tensor(v, shape, "int32"), perm));
      await expectLikeCpu(() =>
        tf.transpose(
          tf.tensor(
            v.map((x) => (x > 0 ? 1 : 0)),
            shape,
            "bool",
          ),
          perm,
        ),
      );
    }
  });

  test("float32 transposes are unchanged", async () => {
    const v = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
    await expectLikeCpu(() => tf.transpose(tf.tensor(v, [2, 3, 4]), [1, 2, 0]));
  });

  test("int32 / bool reductions over outer axes (an internal transpose) compute", async () => {
    const x = () => tf.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [3, 4], "int32");
    await expectLikeCpu(() => tf.sum(x(), 0));
    await expectLikeCpu(() => tf.max(x(), 0));
    await expectLikeCpu(() => tf.argMax(x(), 0));
    await expectLikeCpu(() => tf.all(tf.tensor([1, 1, 0, 1, 1, 1], [3, 2], "bool"), 0));
    expect((await one("webgpu", () => tf.sum(x(), 0))).values).toEqual([15, 18, 21, 24]);
  });
});
