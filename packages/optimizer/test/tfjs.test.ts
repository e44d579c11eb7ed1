import * as tf from "@tensorflow/tfjs";
import { beforeAll, expect, test } from "vitest";
import { AdamW } from "../src/adamw";
import { OptimizerInputError } from "../src/errors";
import { AdamWVariables } from "../src/tfjs";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

test("AdamWVariables equals AdamW on flat arrays, decays only matrices, and leaks no tensors", async () => {
  const w0 = new Float32Array([0.5, -1, 2, 0.25, -0.75, 1.5]);
  const b0 = new Float32Array([0.1, -0.2, 0.3]);
  const vars = new Map<string, tf.Variable>([
    ["proj.weight", tf.variable(tf.tensor2d(w0, [2, 3]), true, "proj.weight")],
    ["proj.bias", tf.variable(tf.tensor1d(b0), true, "proj.bias")],
  ]);
  const opts = { betas: [0.9, 0.95] as [number, number], eps: 1e-8, weightDecay: 0.1 };
  const adapter = new AdamWVariables(opts);
  const flat = new AdamW(opts);
  const w = Float32Array.from(w0);
  const b = Float32Array.from(b0);
  const before = tf.memory().numTensors;
  for (let k = 0; k < 3; k++) {
    const gw = new Float32Array([1, -2, 3, -4, 5, -6]).map((x) => x * (k + 1) * 0.1);
    const gb = new Float32Array([0.5, 0, -0.5]);
    const grads = new Map<string, tf.Tensor>([
      ["proj.weight", tf.tensor2d(gw, [2, 3])],
      ["proj.bias", tf.tensor1d(gb)],
    ]);
    await adapter.step(vars, grads, 0.05);
    for (const g of grads.values()) g.dispose();
    flat.step(
      [
        { key: "proj.weight", param: w, grad: gw },
        { key: "proj.bias", param: b, grad: gb, weightDecay: 0 },
      ],
      0.05,
    );
  }
  expect(tf.memory().numTensors).toBe(before);
  expect(Array.from(vars.get("proj.weight")?.dataSync() ?? [])).toEqual(Array.from(w));
  expect(Array.from(vars.get("proj.bias")?.dataSync() ?? [])).toEqual(Array.from(b));
  expect(adapter.stateDict().state["proj.bias"]?.step).toBe(3);
  for (const v of vars.values()) v.dispose();
});

test("a variable without a gradient is an error naming it", async () => {
  const vars = new Map([["x", tf.variable(tf.zeros([2]))]]);
  await expect(new AdamWVariables().step(vars, new Map())).rejects.toThrow(OptimizerInputError);
  await expect(new AdamWVariables().step(vars, new Map())).rejects.toThrow(/"x"/);
  const bad = new Map<string, tf.Tensor>([["x", tf.zeros([3])]]);
  await expect(new AdamWVariables().step(vars, bad)).rejects.toThrow(/shape/);
  for (const t of [...vars.values(), ...bad.values()]) t.dispose();
});
