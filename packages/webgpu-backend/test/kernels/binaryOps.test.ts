import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, test } from "vitest";
import { expectLikeCpu, runGpuTests, setupWebGpu } from "./gpu.js";

// tfjs-backend-webgpu's binary shaders did not compile for a rank-1 input broadcast into a rank-5 or
// rank-6 output (a device error that poisons every later read).
describe.runIf(runGpuTests)("binary kernels with a low-rank input at rank 5 / 6 (webgpu)", () => {
  beforeAll(setupWebGpu);
  const seq = (n: number, f = 1) => Float32Array.from({ length: n }, (_, i) => ((i * 7) % 11) * f - 5);

  test("Add / Sub / Multiply / RealDiv / Maximum, either side", async () => {
    for (const op of [tf.add, tf.sub, tf.mul, tf.div, tf.maximum]) {
      await expectLikeCpu(() => op(tf.tensor(seq(3)), tf.tensor(seq(96, 0.5), [1, 4, 4, 2, 3])));
      await expectLikeCpu(() => op(tf.tensor(seq(96, 0.5), [1, 4, 4, 2, 3]), tf.tensor(seq(3))));
      await expectLikeCpu(() => op(tf.tensor(seq(2)), tf.tensor(seq(64, 0.25), [2, 2, 2, 2, 2, 2])));
    }
  });

  test("comparisons and int32", async () => {
    await expectLikeCpu(() => tf.less(tf.tensor(seq(4)), tf.tensor(seq(64, 0.5), [2, 2, 2, 2, 4])));
    await expectLikeCpu(() =>
      tf.add(
        tf.tensor([1, 2, 3], [3], "int32"),
        tf.tensor(Int32Array.from(seq(48)), [2, 2, 2, 2, 3], "int32"),
      ),
    );
  });
});
