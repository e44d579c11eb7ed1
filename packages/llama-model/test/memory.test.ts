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
      const { grads } = await model.lossAndGrads(ids, labels, { reduction: "sum" });
      tf.dispose([...grads.values()]);
      await model.loss(ids, labels);
      model.logits(ids).dispose();
      counts.push(tf.memory().numTensors);
    }
    expect(counts).toEqual([before, before, before]);
    model.dispose();
  });
});

test("recompute and blockwise attention lower the peak memory of a training step", async () => {
  await setBackend("cpu");
  const cfg = { ...TINY, num_hidden_layers: 4, max_position_embeddings: 256 };
  const T = 128;
  const batch = [Array.from({ length: T }, (_, i) => (i * 7) % 64)];
  const peak = async (opts: object) => {
    const model = new LlamaForCausalLM(cfg, { seed: 2, ...opts });
    const info = await tf.profile(async () => {
      const { grads } = await model.lossAndGrads(batch, batch);
      tf.dispose([...grads.values()]);
    });
    model.dispose();
    return info.peakBytes;
  };
  const plain = await peak({});
  const recompute = await peak({ recompute: true });
  const blockwise = await peak({ blockwiseAttention: true, attentionBlockSize: 16 });
  // 4 heads × 128² float32 scores per layer are 256 KB; recompute keeps one layer's activations alive.
  expect(recompute).toBeLessThan(0.7 * plain);
  expect(blockwise).toBeLessThan(0.8 * plain);
}, 60_000);
