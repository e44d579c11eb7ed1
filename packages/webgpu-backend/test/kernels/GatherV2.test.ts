import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import { expectLikeCpu, one, runGpuTests, setupWebGpu } from "./gpu.js";

// tfjs-backend-webgpu's GatherV2 from an x of size 0 into a non-empty output bound an empty buffer (a
// device error that poisons every later read).
describe.runIf(runGpuTests)("GatherV2 (webgpu, corrected)", () => {
  beforeAll(setupWebGpu);

  test("gathering from an empty axis gives zeros and leaves the device usable", async () => {
    const r = await one("webgpu", () =>
      tf.gather(tf.zeros([6, 0]), tf.tensor([0, 0, 0, 0], [4], "int32"), 1),
    );
    expect(r.shape).toEqual([6, 4]);
    expect(r.values.every((v) => v === 0)).toBe(true);
    expect((await one("webgpu", () => tf.add(tf.ones([2]), 1))).values).toEqual([2, 2]);
  });

  test("in-range gathers are unchanged (embedding rows, every dtype)", async () => {
    const emb = Float32Array.from({ length: 50 * 8 }, (_, i) => i * 0.25 - 7);
    const id = () => tf.tensor([3, 0, 49, 3, 17], [5], "int32");
    await expectLikeCpu(() => tf.gather(tf.tensor(emb, [50, 8]), id()));
    await expectLikeCpu(() => tf.gather(tf.tensor(Int32Array.from(emb), [50, 8], "int32"), id(), 0));
    await expectLikeCpu(() =>
      tf.gather(
        tf.tensor(emb, [8, 50]),
        tf.tensor(
          [
            [1, 2],
            [40, 0],
          ],
          [2, 2],
          "int32",
        ),
        1,
      ),
    );
  });
});
