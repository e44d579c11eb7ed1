import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import { causalAttention } from "../src/attention";
import { Xoshiro128 } from "../src/hf-init";
import { disposeCache, generate, LlamaForCausalLM, setBackend } from "../src/index";
import { linear, mlp } from "../src/mlp";
import { rmsNorm } from "../src/rmsnorm";
import { applyRope, ropeTables } from "../src/rope";
import { expectAllClose, TINY } from "./helpers";

// Each block against a plain-loop reference over arrays (no tfjs), on tiny sizes.

function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = new Xoshiro128(seed);
  return Float32Array.from({ length: n }, () => scale * r.normal());
}

function naiveRmsNorm(x: Float32Array, w: Float32Array, rows: number, d: number, eps: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[r * d + j] ** 2;
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let j = 0; j < d; j++) out[r * d + j] = x[r * d + j] * inv * w[j];
  }
  return out;
}

/** x: [heads, T, d] at positions start..start+T−1, rotate-half convention. */
function naiveRope(
  x: Float32Array,
  heads: number,
  T: number,
  d: number,
  theta: number,
  start: number,
): Float32Array {
  const out = new Float32Array(x.length);
  const half = d / 2;
  for (let h = 0; h < heads; h++)
    for (let t = 0; t < T; t++)
      for (let i = 0; i < half; i++) {
        const angle = (start + t) / theta ** ((2 * i) / d);
        const a = x[(h * T + t) * d + i];
        const b = x[(h * T + t) * d + half + i];
        out[(h * T + t) * d + i] = a * Math.cos(angle) - b * Math.sin(angle);
        out[(h * T + t) * d + half + i] = b * Math.cos(angle) + a * Math.sin(angle);
      }
  return out;
}

/** q: [H, Tq, d], k/v: [KV, Tk, d]; query i sits at position Tk − Tq + i; head h uses kv head h / (H/KV). */
function naiveAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  H: number,
  KV: number,
  Tq: number,
  Tk: number,
  d: number,
) {
  const out = new Float32Array(H * Tq * d);
  const past = Tk - Tq;
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / KV));
    for (let i = 0; i < Tq; i++) {
      const scores: number[] = [];
      for (let j = 0; j <= past + i; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += q[(h * Tq + i) * d + c] * k[(g * Tk + j) * d + c];
        scores.push(s / Math.sqrt(d));
      }
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < e.length; j++)
        for (let c = 0; c < d; c++) out[(h * Tq + i) * d + c] += (e[j] / z) * v[(g * Tk + j) * d + c];
    }
  }
  return out;
}

function naiveLinear(
  x: Float32Array,
  w: Float32Array,
  rows: number,
  inD: number,
  outD: number,
): Float32Array {
  const y = new Float32Array(rows * outD);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outD; o++) {
      let s = 0;
      for (let i = 0; i < inD; i++) s += x[r * inD + i] * w[o * inD + i];
      y[r * outD + o] = s;
    }
  return y;
}

describe.each(["cpu", "wasm"] as const)("blocks on %s", (backend) => {
  beforeAll(async () => {
    await setBackend(backend);
  });

  test("RMSNorm", () => {
    const x = randn(3 * 16, 1, 3);
    const w = randn(16, 2);
    const y = tf.tidy(() => rmsNorm(tf.tensor2d(x, [3, 16]), tf.tensor1d(w), 1e-5).dataSync());
    expectAllClose(y, naiveRmsNorm(x, w, 3, 16, 1e-5), 1e-5);
  });

  test("rotary tables and rotate-half application (position offset 5)", () => {
    const [H, T, d] = [2, 4, 8];
    const x = randn(H * T * d, 3);
    const { cos, sin } = ropeTables(d, 10000, 5, T);
    const y = tf.tidy(() =>
      applyRope(tf.tensor4d(x, [1, H, T, d]), tf.tensor2d(cos, [T, d]), tf.tensor2d(sin, [T, d])).dataSync(),
    );
    expectAllClose(y, naiveRope(x, H, T, d, 10000, 5), 1e-5);
  });

  test("MLP: down(silu(gate x) * up x)", () => {
    const [n, H, I] = [3, 8, 12];
    const x = randn(n * H, 4);
    const [wg, wu, wd] = [randn(I * H, 5, 0.5), randn(I * H, 6, 0.5), randn(H * I, 7, 0.5)];
    const y = tf.tidy(() =>
      mlp(
        tf.tensor2d(x, [n, H]),
        tf.tensor2d(wg, [I, H]),
        tf.tensor2d(wu, [I, H]),
        tf.tensor2d(wd, [H, I]),
      ).dataSync(),
    );
    const g = naiveLinear(x, wg, n, H, I);
    const u = naiveLinear(x, wu, n, H, I);
    const a = g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]);
    expectAllClose(y, naiveLinear(a, wd, n, I, H), 1e-5);
    const l = tf.tidy(() => linear(tf.tensor2d(x, [n, H]), tf.tensor2d(wg, [I, H])).dataSync());
    expectAllClose(l, g, 1e-5);
  });

  test.each([
    ["MHA, no cache", 4, 4, 6, 6, 0],
    ["GQA 4:2, no cache", 4, 2, 6, 6, 0],
    ["GQA 4:1 with 5 cached keys", 4, 1, 3, 8, 0],
    ["GQA 4:2 blockwise, block 4", 4, 2, 10, 10, 4],
    ["GQA 4:2 blockwise with cache, block 3", 4, 2, 4, 11, 3],
  ])("causal attention: %s", (_, H, KV, Tq, Tk, blockSize) => {
    const d = 8;
    const q = randn(H * Tq * d, 10);
    const k = randn(KV * Tk * d, 11);
    const v = randn(KV * Tk * d, 12);
    const y = tf.tidy(() =>
      causalAttention(
        tf.tensor4d(q, [1, H, Tq, d]),
        tf.tensor4d(k, [1, KV, Tk, d]),
        tf.tensor4d(v, [1, KV, Tk, d]),
        {
          blockSize,
        },
      ).dataSync(),
    );
    expectAllClose(y, naiveAttention(q, k, v, H, KV, Tq, Tk, d), 1e-5);
  });

  test("blockwise attention gradients equal plain attention gradients", () => {
    const [H, KV, T, d] = [4, 2, 9, 8];
    const q = tf.tensor4d(randn(H * T * d, 20), [1, H, T, d]);
    const k = tf.tensor4d(randn(KV * T * d, 21), [1, KV, T, d]);
    const v = tf.tensor4d(randn(KV * T * d, 22), [1, KV, T, d]);
    const w = tf.tensor4d(randn(H * T * d, 23), [1, H, T, d]);
    const grads = (blockSize: number) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(causalAttention(a, b, c, { blockSize }), w)),
      )([q, k, v]);
    const plain = grads(0);
    const block = grads(2);
    for (let i = 0; i < 3; i++) expectAllClose(block[i].dataSync(), plain[i].dataSync(), 1e-5);
    tf.dispose([q, k, v, w, ...plain, ...block]);
  });

  test("KV-cache logits equal the full forward at every position", () => {
    const model = new LlamaForCausalLM(TINY, { seed: 9 });
    const ids = [1, 7, 22, 40, 3, 9, 63, 12];
    const full = model.logits([ids]);
    const fullData = full.dataSync();
    full.dispose();
    // prefill 5 tokens, then one at a time
    let r = model.forwardWithCache(tf.tensor2d(ids.slice(0, 5), [1, 5], "int32"));
    expectAllClose(r.logits.dataSync(), fullData.slice(4 * 64, 5 * 64), 1e-5);
    for (let t = 5; t < ids.length; t++) {
      r.logits.dispose();
      const next = model.forwardWithCache(tf.tensor2d([ids[t]], [1, 1], "int32"), r.cache);
      disposeCache(r.cache);
      r = next;
      expectAllClose(r.logits.dataSync(), fullData.slice(t * 64, (t + 1) * 64), 1e-5);
    }
    r.logits.dispose();
    disposeCache(r.cache);
    model.dispose();
  });
});

describe("generation", () => {
  beforeAll(async () => {
    await setBackend("cpu");
  });

  test("greedy with cache equals greedy without; sampling is seeded; top-p → 0 is greedy", async () => {
    const model = new LlamaForCausalLM({ ...TINY, initializer_range: 0.5 }, { seed: 4 });
    const prompt = [1, 10, 20];
    const a = await generate(model, prompt, { maxNewTokens: 10, eosTokenId: null });
    const b = await generate(model, prompt, { maxNewTokens: 10, eosTokenId: null, useCache: false });
    expect(a).toEqual(b);
    const s1 = await generate(model, prompt, {
      maxNewTokens: 10,
      temperature: 1,
      topP: 0.9,
      seed: 7,
      eosTokenId: null,
    });
    const s2 = await generate(model, prompt, {
      maxNewTokens: 10,
      temperature: 1,
      topP: 0.9,
      seed: 7,
      eosTokenId: null,
      useCache: false,
    });
    expect(s1).toEqual(s2);
    const tiny = await generate(model, prompt, {
      maxNewTokens: 10,
      temperature: 1,
      topP: 1e-9,
      seed: 1,
      eosTokenId: null,
    });
    expect(tiny).toEqual(a);
    const stop = await generate(model, prompt, { maxNewTokens: 10, eosTokenId: a[2] });
    expect(stop).toEqual(a.slice(0, a.indexOf(a[2]) + 1));
    model.dispose();
  });
});
