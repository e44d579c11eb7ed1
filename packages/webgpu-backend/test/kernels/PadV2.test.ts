import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import { expectLikeCpu, one, runGpuTests, setupWebGpu } from "./gpu.js";

// tfjs-backend-webgpu's PadV2 did not compile for rank 5 / 6 (a device error that poisons every later
// read) and carried int32 through f32.
describe.runIf(runGpuTests)("PadV2 (webgpu, corrected)", () => {
  beforeAll(setupWebGpu);

  test("rank 1..6, float32 with 0 / 1.5 / NaN constants", async () => {
    for (const [shape, pads] of [
      [[3], [[1, 2]]],
      [
        [2, 3],
        [
          [0, 1],
          [2, 0],
        ],
      ],
      [
        [2, 1, 2, 2],
        [
          [1, 0],
          [0, 2],
          [1, 1],
          [0, 0],
        ],
      ],
      [
        [4, 2, 3, 2, 2],
        [
          [1, 1],
          [1, 2],
          [1, 0],
          [1, 0],
          [1, 0],
        ],
      ],
      [
        [1, 2, 1, 2, 1, 2],
        [
          [0, 1],
          [1, 0],
          [0, 0],
          [2, 1],
          [1, 1],
          [0, 2],
        ],
      ],
    ] as [number[], [number, number][]][]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = Float32Array.from({ length: n }, (_, i) => i - 3.25);
      for (const c of [0, 1.5, Number.NaN]) await expectLikeCpu(() => tf.pad(tf.tensor(x, shape), pads, c));
    }
  });

  test("int32 is exact beyond 2^24; an int32 constant truncates as on cpu; bool", async () => {
    const v = Int32Array.from([2147483647, -2147483648, 16777217, 5, -6, 0]);
    await expectLikeCpu(() =>
      tf.pad(
        tf.tensor(v, [1, 2, 1, 3, 1], "int32"),
        [
          [0, 1],
          [1, 0],
          [0, 0],
          [1, 1],
          [2, 0],
        ],
        1.5,
      ),
    );
    await expectLikeCpu(() => tf.pad(tf.tensor([1, 0, 1], [3], "bool"), [[2, 1]], 1));
    const r = await one("webgpu", () => tf.pad(tf.tensor(v, [6], "int32"), [[1, 0]], -3));
    expect(r.values).toEqual([-3, ...v]);
  });

  test("an empty input is filled with the constant", async () => {
    await expectLikeCpu(() =>
      tf.pad(
        tf.zeros([3, 0]),
        [
          [0, 0],
          [1, 1],
        ],
        2,
      ),
    );
  });
});
