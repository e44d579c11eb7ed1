// Each fused op of fused.ts against the composite tfjs ops it replaces, forward and every gradient,
// both on the native backend (fused kernels on, then off): the composite path is the reference.
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { causalAttention, tokenMajorCausalAttention } from "../src/attention";
import { weightedCrossEntropySum } from "../src/causal-lm-loss";
import { type FusedOp, hasFused, setFusedKernels } from "../src/fused";
import { LlamaForCausalLM, resolveConfig, setBackend } from "../src/index";
import { mlp } from "../src/mlp";
import { rmsNorm } from "../src/rmsnorm";
import { applyRope, ropeTables } from "../src/rope";
import { expectAllClose } from "./helpers";

let available = false;
beforeAll(async () => {
  available = await setBackend("native").then(
    () => true,
    (e) => {
      if (process.env.CI) throw e; // CI builds the native backend
      return false;
    },
  );
});
afterAll(() => setFusedKernels(true));

function rand(shape: number[], seed: number, scale = 1): tf.Tensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = (s / 2 ** 32 - 0.5) * 2 * scale;
  }
  return tf.tensor(v, shape);
}

/** Value and gradients of sum(f(xs) · probe) w.r.t. every input, fused and composite. */
function both(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]) {
  const run = () =>
    tf.tidy(() => {
      const y = f(...xs);
      const probe = rand(y.shape, 99);
      const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), probe)))(xs);
      return [y.dataSync().slice(), ...grads.map((g) => g.dataSync().slice())];
    });
  setFusedKernels(true);
  const fused = run();
  setFusedKernels(false);
  const composite = run();
  setFusedKernels(true);
  return { fused, composite };
}

function compare(name: string, f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], rtol = 2e-6) {
  const { fused, composite } = both(f, xs);
  fused.forEach((v, i) => {
    try {
      expectAllClose(v, composite[i], rtol, 1e-7);
    } catch (e) {
      throw new Error(`${name} ${i === 0 ? "value" : `grad ${i - 1}`}: ${(e as Error).message}`);
    }
  });
}

describe("fused kernels equal the composite ops (native backend)", () => {
  test("the native backend runs every fused op, each under the name its FUSED_KERNELS gives", async (ctx) => {
    if (!available) ctx.skip();
    const { FUSED_KERNELS } = await import("@biomed-llama/native-backend");
    for (const [op, name] of Object.entries(FUSED_KERNELS)) {
      expect(tf.getKernel(name, "native"), name).toBeDefined();
      expect(hasFused(op as FusedOp), op).toBe(true);
    }
    setFusedKernels(false);
    expect(hasFused("rope")).toBe(false);
    setFusedKernels(true);
  });

  test("RMSNorm", (ctx) => {
    if (!available) ctx.skip();
    compare("rmsNorm", (x, w) => rmsNorm(x, w, 1e-6), [rand([3, 5, 48], 1, 3), rand([48], 2)]);
  });

  test("SwiGLU MLP", (ctx) => {
    if (!available) ctx.skip();
    compare("mlp", (x, g, u, d) => mlp(x, g, u, d), [
      rand([2, 7, 16], 3, 4),
      rand([40, 16], 4),
      rand([40, 16], 5),
      rand([16, 40], 6),
    ]);
  });

  test("rotary embedding (positions 5..12, head dim 16)", (ctx) => {
    if (!available) ctx.skip();
    const { cos, sin } = ropeTables(16, 10000, 5, 8);
    const c = tf.tensor2d(cos, [8, 16]);
    const s = tf.tensor2d(sin, [8, 16]);
    compare("rope", (x) => applyRope(x, c, s), [rand([2, 3, 8, 16], 7, 2)]);
    // token-major [B, T, heads, d]: every head of a position takes that position's row
    compare("rope token-major", (x) => applyRope(x, c, s, true), [rand([2, 8, 3, 16], 17, 2)]);
    tf.dispose([c, s]);
  });

  test("causal attention with grouped KV heads (scale, mask, softmax)", (ctx) => {
    if (!available) ctx.skip();
    compare("attention", (q, k, v) => causalAttention(q, k, v), [
      rand([2, 4, 6, 8], 8, 2),
      rand([2, 2, 6, 8], 9, 2),
      rand([2, 2, 6, 8], 10),
    ]);
    // With a KV cache: Tk > Tq (the first keys are earlier positions).
    compare("attention+cache", (q, k, v) => causalAttention(q, k, v), [
      rand([1, 4, 3, 8], 11),
      rand([1, 4, 7, 8], 12),
      rand([1, 4, 7, 8], 13),
    ]);
  });

  test("token-major causal attention: grouped heads, blocks of 64 query rows, a ragged last block", (ctx) => {
    if (!available) ctx.skip();
    // T = 150: query blocks 0-63, 64-127, 128-149 (each sees only keys up to its last row).
    compare(
      "attention token-major",
      (q, k, v) => tokenMajorCausalAttention(q, k, v),
      [rand([2, 150, 4, 8], 18, 2), rand([2, 150, 2, 8], 19, 2), rand([2, 150, 2, 8], 20)],
      1e-5,
    );
    // one position; and H = KV
    compare("attention T=1", (q, k, v) => tokenMajorCausalAttention(q, k, v), [
      rand([1, 1, 2, 4], 21),
      rand([1, 1, 2, 4], 22),
      rand([1, 1, 2, 4], 23),
    ]);
  });

  test("weighted softmax cross-entropy (ignored positions, one target at the vocabulary's edge)", (ctx) => {
    if (!available) ctx.skip();
    const targets = Int32Array.from([0, 5, 99, 42, 7, 99]);
    const weights = Float32Array.from([1, 0, 1, 1, 0.5, 1]);
    compare(
      "xent",
      (x) => weightedCrossEntropySum(x as tf.Tensor2D, targets, weights),
      [rand([6, 100], 14, 6)],
      5e-6,
    );
  });

  test("a whole model: loss and every gradient", async (ctx) => {
    if (!available) ctx.skip();
    const config = resolveConfig({
      vocab_size: 96,
      hidden_size: 32,
      intermediate_size: 80,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 32,
    });
    const ids = [
      Array.from({ length: 12 }, (_, i) => (i * 7 + 1) % 96),
      Array.from({ length: 12 }, (_, i) => (i * 5 + 3) % 96),
    ];
    const run = async (fused: boolean) => {
      setFusedKernels(fused);
      const m = new LlamaForCausalLM(config, { seed: 3 });
      const { loss, grads } = await m.lossAndGrads(ids, ids);
      const out = new Map([...grads].map(([k, g]) => [k, g.dataSync().slice()]));
      tf.dispose([...grads.values()]);
      m.dispose();
      return { loss, out };
    };
    const a = await run(true);
    const b = await run(false);
    setFusedKernels(true);
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
    for (const [k, g] of a.out) expectAllClose(g, b.out.get(k) as Float32Array, 1e-5, 1e-7);
  });
});
