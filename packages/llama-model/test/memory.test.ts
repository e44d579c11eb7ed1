import * as tf from "@tensorflow/tfjs";
import { describe, expect, test } from "vitest";
import { LlamaForCausalLM, setBackend } from "../src/index";
import { TINY } from "./helpers";

const ids = [
  [1, 5, 9, 3, 7, 2, 4, 8, 11, 12],
  [3, 3, 4, 5, 6, 7, 8, 9, 10, 63],
];
const labels = ids.map((r) => r.map((v, i) => (i < 2 ? -100 : v)));

describe.each(["cpu", "wasm"] as const)("no tensor leaks on %s", (backend) => {
  test.each([
    ["plain", {}],
    ["recompute", { recompute: true }],
    ["blockwise", { blockwiseAttention: true, attentionBlockSize: 4 }],
    ["recompute + blockwise", { recompute: true, blockwiseAttention: true, attentionBlockSize: 4 }],
  ])("%s: live tensor count is the same after every training step", async (_, opts) => {
    await setBackend(backend);
    const model = new LlamaForCausalLM(TINY, { seed: 3, ...opts });
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    for (let step = 0; step < 3; step++) {
      const { grads } = model.lossAndGrads(ids, labels, { reduction: "sum" });
      tf.dispose([...grads.values()]);
      model.loss(ids, labels);
      model.logits(ids).dispose();
      counts.push(tf.memory().numTensors);
    }
    expect(counts).toEqual([before, before, before]);
    model.dispose();
  });
});
