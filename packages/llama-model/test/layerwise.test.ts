import * as tf from "@tensorflow/tfjs";
import { describe, expect, test } from "vitest";
import {
  float32UnitHooks,
  LlamaForCausalLM,
  layerwiseLoss,
  layerwiseLossAndGrads,
  llamaUnits,
  setBackend,
  type UnitHooks,
} from "../src/index";
import { expectAllClose, TINY } from "./helpers";

const ids = [
  [1, 5, 9, 3, 7, 2, 4, 8, 11, 12],
  [3, 3, 4, 5, 6, 7, 8, 9, 10, 63],
];
const labels = ids.map((r) => r.map((v, i) => (i < 3 ? -100 : v)));

const CONFIGS = {
  untied: { ...TINY, num_hidden_layers: 3 },
  "tied + GQA": { ...TINY, num_hidden_layers: 2, tie_word_embeddings: true, num_key_value_heads: 2 },
};

/**
 * Hooks over a model's own weights that behave like a sharded owner: every acquire hands out fresh
 * copies (released copies are disposed) after an await, and it records what happens in which order.
 */
function recordingHooks(model: LlamaForCausalLM) {
  const named = model.namedParameters();
  const units = new Map(llamaUnits(model.config).map((u) => [u.name, u.params]));
  const events: string[] = [];
  const grads = new Map<string, Float32Array>();
  let held = 0;
  let maxHeld = 0;
  const hooks: UnitHooks = {
    async acquire(unit) {
      await new Promise((r) => setTimeout(r, 1));
      events.push(`acquire ${unit}`);
      held++;
      maxHeld = Math.max(maxHeld, held);
      return new Map(units.get(unit)!.map((n) => [n, tf.clone(named.get(n)!)]));
    },
    release(unit, params) {
      events.push(`release ${unit}`);
      held--;
      tf.dispose([...params.values()]);
    },
    async gradients(unit, g) {
      await new Promise((r) => setTimeout(r, 1));
      events.push(`gradients ${unit}`);
      for (const [name, t] of g) {
        expect(grads.has(name), `${name} reported twice`).toBe(false);
        grads.set(name, t.dataSync() as Float32Array);
        t.dispose();
      }
    },
  };
  return { hooks, events, grads, maxHeld: () => maxHeld, held: () => held };
}

describe.each(Object.entries(CONFIGS))("layerwise pass (%s)", (_, cfg) => {
  test.each(["mean", "sum"] as const)(
    "loss and every gradient equal the whole-model autodiff (%s), units in FSDP order",
    async (reduction) => {
      await setBackend("cpu");
      const model = new LlamaForCausalLM(cfg, { seed: 7 });
      const ref = await model.lossAndGrads(ids, labels, { reduction });
      const rec = recordingHooks(model);
      const before = tf.memory().numTensors;
      const got = await layerwiseLossAndGrads(model.config, ids, labels, rec.hooks, { reduction });
      expect(tf.memory().numTensors).toBe(before);
      expect(got.tokens).toBe(ref.tokens);
      expect(got.loss).toBeCloseTo(ref.loss, 5);
      expect([...rec.grads.keys()].sort()).toEqual([...ref.grads.keys()].sort());
      for (const [name, g] of ref.grads) {
        expectAllClose(rec.grads.get(name)!, g.dataSync() as Float32Array, 1e-4, 1e-7);
        g.dispose();
      }
      const L = model.config.num_hidden_layers;
      const layers = Array.from({ length: L }, (_, i) => `layers.${i}`);
      const gradOrder = rec.events.filter((e) => e.startsWith("gradients")).map((e) => e.slice(10));
      expect(gradOrder).toEqual(["head", ...[...layers].reverse(), "embed"]);
      // forward acquires every unit once, backward re-acquires the layers (recompute)
      const acquired = rec.events.filter((e) => e.startsWith("acquire")).map((e) => e.slice(8));
      const tied = model.config.tie_word_embeddings;
      expect(acquired).toEqual([
        "embed",
        ...layers,
        "head",
        ...(tied ? ["embed"] : []),
        ...[...layers].reverse(),
      ]);
      expect(rec.held()).toBe(0);
      // one unit at a time; the head of a tied model also holds the embedding it shares
      expect(rec.maxHeld()).toBe(tied ? 2 : 1);
      model.dispose();
    },
  );

  test("forward-only loss equals LlamaForCausalLM.loss", async () => {
    await setBackend("cpu");
    const model = new LlamaForCausalLM(cfg, { seed: 2 });
    const rec = recordingHooks(model);
    const got = await layerwiseLoss(model.config, ids, labels, rec.hooks);
    expect(got.loss).toBeCloseTo((await model.loss(ids, labels)).loss, 5);
    expect(rec.grads.size).toBe(0);
    model.dispose();
  });
});

test("a gradient entry matches a central finite difference of the layerwise loss", async () => {
  await setBackend("cpu");
  const model = new LlamaForCausalLM(CONFIGS["tied + GQA"], { seed: 11 });
  const rec = recordingHooks(model);
  await layerwiseLossAndGrads(model.config, ids, labels, rec.hooks, { reduction: "sum" });
  const lossAt = async () =>
    (await layerwiseLoss(model.config, ids, labels, recordingHooks(model).hooks, { reduction: "sum" })).loss;
  // the tied embedding gets gradient from both ends: check a row that is looked up and predicted
  for (const [name, index] of [
    ["model.embed_tokens.weight", 5 * 32 + 3],
    ["model.layers.1.self_attn.k_proj.weight", 17],
    ["model.norm.weight", 4],
  ] as const) {
    const p = model.namedParameters().get(name)!;
    const data = (p.dataSync() as Float32Array).slice();
    const h = 3e-3;
    data[index] += h;
    model.setParameter(name, data);
    const up = await lossAt();
    data[index] -= 2 * h;
    model.setParameter(name, data);
    const down = await lossAt();
    data[index] += h;
    model.setParameter(name, data);
    const fd = (up - down) / (2 * h);
    // float32 loss: truncation O(h²) and rounding O(eps·loss/h) both stay well under 0.5 %
    expect(Math.abs(rec.grads.get(name)![index] - fd), `${name}[${index}]`).toBeLessThan(
      5e-3 * Math.max(1, Math.abs(fd)),
    );
  }
  model.dispose();
});

test("an acquire that lacks a parameter fails naming the unit and the tensor", async () => {
  await setBackend("cpu");
  const model = new LlamaForCausalLM(CONFIGS.untied, { seed: 1 });
  const hooks: UnitHooks = {
    acquire: () => new Map(),
    release: () => {},
  };
  await expect(layerwiseLoss(model.config, ids, labels, hooks)).rejects.toThrow(
    'acquire("embed") returned no tensor "model.embed_tokens.weight"',
  );
  model.dispose();
});

test("float32UnitHooks: arrays in, arrays out, no tensors left; a wrong length names unit and tensor", async () => {
  await setBackend("cpu");
  const model = new LlamaForCausalLM(CONFIGS.untied, { seed: 5 });
  const ref = await model.lossAndGrads(ids, labels);
  const state = await model.stateDict();
  const units = new Map(llamaUnits(model.config).map((u) => [u.name, u.params]));
  const grads = new Map<string, Float32Array>();
  const before = tf.memory().numTensors;
  const got = await layerwiseLossAndGrads(
    model.config,
    ids,
    labels,
    float32UnitHooks(model.config, {
      acquire: async (unit) => new Map(units.get(unit)!.map((n) => [n, state.get(n)!])),
      gradients: (_unit, g) => {
        for (const [n, a] of g) grads.set(n, a);
      },
    }),
  );
  expect(tf.memory().numTensors).toBe(before);
  expect(got.loss).toBeCloseTo(ref.loss, 5);
  for (const [name, g] of ref.grads) {
    expectAllClose(grads.get(name)!, g.dataSync() as Float32Array, 1e-4, 1e-7);
    g.dispose();
  }
  const beforeFailure = tf.memory().numTensors;
  const short = float32UnitHooks(model.config, {
    acquire: (unit) =>
      new Map(units.get(unit)!.map((n) => [n, unit === "layers.1" ? new Float32Array(3) : state.get(n)!])),
  });
  await expect(layerwiseLoss(model.config, ids, labels, short)).rejects.toThrow(
    /acquire\("layers\.1"\): "model\.layers\.1\.input_layernorm\.weight" has 3 values, expected \[32\]/,
  );
  expect(tf.memory().numTensors).toBe(beforeFailure);
  model.dispose();
});
