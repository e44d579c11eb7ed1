import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import { pickToken } from "../src/generate";
import { Xoshiro128 } from "../src/hf-init";
import { LlamaForCausalLM, loadHFCheckpoint, readSafetensors, setBackend } from "../src/index";
import { GOLDEN_DIR, rows, TINY } from "./helpers";

describe("pickToken", () => {
  test("top-p keeps the smallest head reaching p and renormalises it", () => {
    const probs = [0.05, 0.5, 0.15, 0.3];
    const logits = Float32Array.from(probs, Math.log);
    const rng = new Xoshiro128(5);
    const counts = [0, 0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) counts[pickToken(logits, 1, 0.7, rng)]++;
    // kept {1, 3}: 0.5 / 0.8 and 0.3 / 0.8
    expect(counts[0] + counts[2]).toBe(0);
    expect(counts[1] / n).toBeCloseTo(0.625, 1);
    expect(counts[3] / n).toBeCloseTo(0.375, 1);
  });

  test("temperature sharpens; temperature 0 is argmax", () => {
    const logits = Float32Array.from([1, 2, 0.5]);
    expect(pickToken(logits, 0, 1, new Xoshiro128(1))).toBe(1);
    const rng = new Xoshiro128(2);
    let hits = 0;
    for (let i = 0; i < 5000; i++) hits += pickToken(logits, 0.5, 1, rng) === 1 ? 1 : 0;
    const e = [2, 4, 1].map(Math.exp);
    expect(hits / 5000).toBeCloseTo(e[1] / (e[0] + e[1] + e[2]), 1);
  });
});

describe("finite differences (cpu, float32)", () => {
  beforeAll(async () => {
    await setBackend("cpu");
  });

  test("analytic gradients match central differences on a few weights", async () => {
    const golden = readSafetensors(path.join(GOLDEN_DIR, "golden.safetensors"));
    const ids = rows((golden.get("input_ids") as { data: Float32Array }).data, 2, 12);
    const labels = rows((golden.get("labels") as { data: Float32Array }).data, 2, 12);
    const model = await loadHFCheckpoint(GOLDEN_DIR);
    const { grads } = await model.lossAndGrads(ids, labels, { reduction: "sum" });
    const names = [
      "model.embed_tokens.weight",
      "model.layers.0.self_attn.q_proj.weight",
      "model.layers.0.self_attn.k_proj.weight",
      "model.layers.1.mlp.down_proj.weight",
      "model.layers.0.input_layernorm.weight",
      "model.norm.weight",
    ];
    for (const name of names) {
      const g = (grads.get(name) as tf.Tensor).dataSync();
      // the coordinate with the largest gradient: best signal-to-rounding ratio in float32
      let at = 0;
      for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[at])) at = i;
      const v = model.namedParameters().get(name) as tf.Variable;
      const base = (v.dataSync() as Float32Array).slice();
      const h = 1e-2 * Math.max(1, Math.abs(base[at]));
      const lossAt = async (delta: number) => {
        const w = base.slice();
        w[at] += delta;
        model.setParameter(name, w);
        return (await model.loss(ids, labels, { reduction: "sum" })).loss;
      };
      // Richardson extrapolation of two central differences cancels the h² error term.
      const d1 = ((await lossAt(h)) - (await lossAt(-h))) / (2 * h);
      const d2 = ((await lossAt(h / 2)) - (await lossAt(-h / 2))) / h;
      const fd = (4 * d2 - d1) / 3;
      model.setParameter(name, base);
      expect(Math.abs(fd - g[at]) / Math.abs(g[at]), `${name}[${at}]: fd ${fd} vs ${g[at]}`).toBeLessThan(
        5e-3,
      );
    }
    tf.dispose([...grads.values()]);
    model.dispose();
  }, 60_000);

  test("tied embeddings: the gradient sums the lookup and lm_head uses (finite differences)", async () => {
    const model = new LlamaForCausalLM(
      { ...TINY, tie_word_embeddings: true, initializer_range: 0.3 },
      { seed: 8 },
    );
    expect(model.namedParameters().has("lm_head.weight")).toBe(false);
    const ids = [[3, 17, 42, 3, 9, 60, 17, 5]];
    const name = "model.embed_tokens.weight";
    const { grads } = await model.lossAndGrads(ids, ids, { reduction: "sum" });
    const g = (grads.get(name) as tf.Tensor).dataSync();
    const base = ((model.namedParameters().get(name) as tf.Variable).dataSync() as Float32Array).slice();
    // token 17 is both looked up and predicted; token 63 only appears through lm_head
    for (const at of [17 * 32 + 4, 63 * 32 + 1]) {
      const h = 1e-2;
      const lossAt = async (d: number) => {
        const w = base.slice();
        w[at] += d;
        model.setParameter(name, w);
        return (await model.loss(ids, ids, { reduction: "sum" })).loss;
      };
      const fd =
        (4 * (((await lossAt(h / 2)) - (await lossAt(-h / 2))) / h) -
          ((await lossAt(h)) - (await lossAt(-h))) / (2 * h)) /
        3;
      expect(Math.abs(fd - g[at]) / Math.abs(g[at]), `[${at}] fd ${fd} vs ${g[at]}`).toBeLessThan(5e-3);
    }
    model.setParameter(name, base);
    tf.dispose([...grads.values()]);
    model.dispose();
  }, 60_000);
});
