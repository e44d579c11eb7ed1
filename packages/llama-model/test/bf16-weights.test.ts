// BF16 checkpoints held as bfloat16 on the native backend (loadHFCheckpoint's `weights: "bf16"`): a small
// random model saved as BF16 by our own writer, loaded once with its weights held as bfloat16 and once
// widened to float32, must give the same logits, log-probs, losses, gradients and generated tokens; the
// bfloat16 load must hold 2 bytes per matrix parameter and never allocate a float32 copy of a weight.
// Runs where @biomed-llama/native-backend is built (always in CI); the cpu-backend fallback runs everywhere.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  generate,
  LlamaForCausalLM,
  loadHFCheckpoint,
  resolveConfig,
  saveHFCheckpoint,
  setBackend,
  setMatmulPrecision,
} from "../src/index";
import { expectAllClose, expectBitEqual, tmpDir } from "./helpers";

// hidden 64: the native matmul widens a bfloat16 weight in column blocks of 4 MiB / (4 · 64) = 16384 rows,
// so the [20000, 64] lm_head takes two blocks, the last one partial.
const CONFIG = resolveConfig({
  vocab_size: 20000,
  hidden_size: 64,
  intermediate_size: 160,
  num_hidden_layers: 3,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
  initializer_range: 0.05,
});

const IDS = [
  [1, 450, 16500, 9132, 411, 263, 10215, 19889, 17, 19999, 3, 2],
  [1, 7, 7, 7, 18000, 42, 1234, 5, 16384, 16383, 0, 9],
];

interface NativeBackendLike {
  isBf16(dataId: object): boolean;
  memory(): { nativeBytes: number; nativePeakBytes: number };
  binding: { resetPeak(): void };
}

/** Native available? In CI it must be (a failure there is an error, never a skip). */
async function tryNative(): Promise<boolean> {
  try {
    await setBackend("native");
    return true;
  } catch (e) {
    if (process.env.CI) throw e;
    return false;
  }
}

const root = tmpDir("bf16-weights");
const dirs = {
  bf16: path.join(root, "bf16"),
  tied: path.join(root, "bf16-tied"),
  sharded: path.join(root, "bf16-sharded"),
  f32: path.join(root, "f32"),
};

beforeAll(async () => {
  await setBackend("cpu");
  const m = new LlamaForCausalLM(CONFIG, { seed: 7 });
  await saveHFCheckpoint(m, dirs.bf16, { dtype: "BF16" });
  await saveHFCheckpoint(m, dirs.sharded, { dtype: "BF16", maxShardBytes: 1_000_000 });
  await saveHFCheckpoint(m, dirs.f32, { dtype: "F32" });
  m.dispose();
  const tied = new LlamaForCausalLM({ ...CONFIG, tie_word_embeddings: true }, { seed: 8 });
  await saveHFCheckpoint(tied, dirs.tied, { dtype: "BF16" });
  tied.dispose();
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function logitsOf(m: LlamaForCausalLM): Float32Array {
  const t = m.logits(IDS);
  const d = t.dataSync() as Float32Array;
  t.dispose();
  return d;
}

const isMatrix = (m: LlamaForCausalLM, name: string) => m.namedParameters().get(name)?.rank === 2;

describe("on the native backend", () => {
  let available = false;
  beforeAll(async () => {
    available = await tryNative();
  });
  afterAll(async () => {
    if (available) setMatmulPrecision("f32");
    await setBackend("cpu");
  });
  const need = (ctx: { skip: () => void }) => {
    if (!available) ctx.skip();
  };
  const backend = () => tf.backend() as unknown as NativeBackendLike;

  test("matrices are held as bfloat16, 2 bytes each, read without any float32 copy", async (ctx) => {
    need(ctx);
    const before = backend().memory().nativeBytes;
    const tensorsBefore = tf.memory().numTensors;
    backend().binding.resetPeak();
    const m = await loadHFCheckpoint(dirs.bf16, { weights: "bf16" });
    const params = m.namedParameters();
    const matrices = [...params.keys()].filter((n) => isMatrix(m, n));
    expect(m.bf16Parameters().sort()).toEqual(matrices.sort());
    for (const [name, v] of params) expect(backend().isBf16(v.dataId)).toBe(isMatrix(m, name));
    let expected = 0;
    for (const [name, v] of params) expected += v.size * (isMatrix(m, name) ? 2 : 4);
    expect(m.parameterBytes()).toBe(expected);
    // Native memory: the parameters (each block rounded up to 64 bytes, past 1 MiB to a page), and the
    // most ever held during the load is the same: no float32 temporary of any weight existed.
    const held = backend().memory().nativeBytes - before;
    expect(held).toBeGreaterThanOrEqual(expected);
    expect(held).toBeLessThan(expected + params.size * 4096);
    expect(backend().memory().nativePeakBytes - before).toBe(held);
    expect(tf.memory().numTensors - tensorsBefore).toBe(params.size);
    m.dispose();
    expect(backend().memory().nativeBytes).toBe(before);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  test("logits, log-probs and losses equal the float32 model of the same bfloat16 values", async (ctx) => {
    need(ctx);
    const held = await loadHFCheckpoint(dirs.bf16, { weights: "bf16" });
    const wide = await loadHFCheckpoint(dirs.bf16, { weights: "f32" });
    expect(wide.bf16Parameters()).toEqual([]);
    // The parameters' values are the same numbers (widening bfloat16 is exact).
    const wideParams = wide.namedParameters();
    for (const [name, v] of held.namedParameters()) {
      const w = wideParams.get(name) as tf.Variable;
      expect(Buffer.from(v.dataSync().buffer).equals(Buffer.from(w.dataSync().buffer))).toBe(true);
    }
    const a = logitsOf(held);
    const b = logitsOf(wide);
    // The matmul widens the weight in column blocks, and the blocked GEMM may add in another order than
    // the one over the whole float32 weight: the same dot products up to float32 rounding.
    expectAllClose(a, b, 1e-6, 0);
    const pos = [0, 5, 11, 12, 23];
    const la = held.logProbsAt(IDS, pos);
    const lb = wide.logProbsAt(IDS, pos);
    expectAllClose(la.dataSync(), lb.dataSync(), 1e-6, 0);
    tf.dispose([la, lb]);
    const sa = await held.sequenceLogProbs(IDS);
    const sb = await wide.sequenceLogProbs(IDS);
    for (let i = 0; i < sa.length; i++) expectAllClose(sa[i], sb[i], 1e-6, 0);
    const lossA = await held.loss(IDS, IDS);
    const lossB = await wide.loss(IDS, IDS);
    expect(lossA.loss).toBeCloseTo(lossB.loss, 5);
    // And the whole model against the reference cpu backend (float32 values of the same checkpoint).
    await setBackend("cpu");
    const ref = await loadHFCheckpoint(dirs.bf16);
    expectAllClose(logitsOf(ref), a, 1e-5, 1e-6);
    ref.dispose();
    await setBackend("native");
    held.dispose();
    wide.dispose();
  });

  test("greedy generation gives the same tokens, with and without the KV cache", async (ctx) => {
    need(ctx);
    const held = await loadHFCheckpoint(dirs.bf16, { weights: "bf16" });
    const wide = await loadHFCheckpoint(dirs.bf16, { weights: "f32" });
    for (const useCache of [true, false]) {
      const opts = { maxNewTokens: 10, useCache, eosTokenId: null };
      const x = await generate(held, [1, 450, 16500, 9132], opts);
      expect(x).toHaveLength(10);
      expect(x).toEqual(await generate(wide, [1, 450, 16500, 9132], opts));
    }
    const sampled = { maxNewTokens: 10, temperature: 0.9, topP: 0.9, seed: 3, eosTokenId: null };
    expect(await generate(held, [1, 2, 3], sampled)).toEqual(await generate(wide, [1, 2, 3], sampled));
    held.dispose();
    wide.dispose();
  });

  test("tied embeddings: one bfloat16 tensor is both the embedding lookup and the lm_head", async (ctx) => {
    need(ctx);
    const held = await loadHFCheckpoint(dirs.tied, { weights: "bf16" });
    const wide = await loadHFCheckpoint(dirs.tied, { weights: "f32" });
    expect(held.namedParameters().has("lm_head.weight")).toBe(false);
    expect(held.bf16Parameters()).toContain("model.embed_tokens.weight");
    expectAllClose(logitsOf(held), logitsOf(wide), 1e-6, 0);
    held.dispose();
    wide.dispose();
  });

  test("gradients through bfloat16-held (frozen) weights equal the float32 model's", async (ctx) => {
    need(ctx);
    const held = await loadHFCheckpoint(dirs.bf16, { weights: "bf16" });
    const wide = await loadHFCheckpoint(dirs.bf16, { weights: "f32" });
    const ga = await held.lossAndGrads(IDS, IDS);
    const gb = await wide.lossAndGrads(IDS, IDS);
    expect(ga.loss).toBeCloseTo(gb.loss, 5);
    for (const [name, g] of ga.grads)
      expectAllClose(g.dataSync(), gb.grads.get(name)?.dataSync() as Float32Array, 1e-5, 0);
    tf.dispose([...ga.grads.values(), ...gb.grads.values()]);
    // A parameter overwritten from float32 values is float32 from then on.
    const name = "model.layers.0.mlp.up_proj.weight";
    const v = held.namedParameters().get(name) as tf.Variable;
    held.setParameter(name, v.dataSync() as Float32Array);
    expect(held.bf16Parameters()).not.toContain(name);
    expect((tf.backend() as unknown as NativeBackendLike).isBf16(v.dataId)).toBe(false);
    expectAllClose(logitsOf(held), logitsOf(wide), 1e-6, 0);
    held.dispose();
    wide.dispose();
  });

  test("bf16 matmul precision on bfloat16-held weights equals it on the widened ones", async (ctx) => {
    need(ctx);
    const held = await loadHFCheckpoint(dirs.bf16, { weights: "bf16" });
    const wide = await loadHFCheckpoint(dirs.bf16, { weights: "f32" });
    setMatmulPrecision("bf16");
    try {
      // Rounding a bfloat16 value to bfloat16 is the identity: both run the same bf16 GEMM.
      expectAllClose(logitsOf(held), logitsOf(wide), 1e-6, 0);
    } finally {
      setMatmulPrecision("f32");
    }
    held.dispose();
    wide.dispose();
  });

  test("sharded BF16 checkpoint; progress runs from 0 to the bytes of every tensor", async (ctx) => {
    need(ctx);
    const calls: [number, number][] = [];
    const m = await loadHFCheckpoint(dirs.sharded, {
      weights: "bf16",
      onProgress: (done, total) => calls.push([done, total]),
    });
    // Every tensor is stored as BF16: 2 bytes each (norms included, which are held as float32).
    const total = 2 * [...m.namedParameters().values()].reduce((n, v) => n + v.size, 0);
    expect(calls[0]).toEqual([0, total]);
    expect(calls[calls.length - 1]).toEqual([total, total]);
    for (let i = 1; i < calls.length; i++) expect(calls[i][0]).toBeGreaterThan(calls[i - 1][0]);
    expect(calls.length).toBeGreaterThan(m.namedParameters().size);
    const one = await loadHFCheckpoint(dirs.bf16, { weights: "bf16" });
    expectBitEqual(logitsOf(m), logitsOf(one));
    m.dispose();
    one.dispose();
  });

  test("an F32 checkpoint loads as float32 whatever `weights` says", async (ctx) => {
    need(ctx);
    const a = await loadHFCheckpoint(dirs.f32, { weights: "bf16" });
    const b = await loadHFCheckpoint(dirs.f32);
    expect(a.bf16Parameters()).toEqual([]);
    expectBitEqual(logitsOf(a), logitsOf(b));
    a.dispose();
    b.dispose();
  });

  test("a damaged shard fails before anything is allocated", async (ctx) => {
    need(ctx);
    const dir = path.join(root, "truncated");
    fs.cpSync(dirs.sharded, dir, { recursive: true });
    const last = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".safetensors"))
      .sort()
      .pop() as string;
    // Same header, data cut short: the header check catches it before any tensor is allocated.
    fs.truncateSync(path.join(dir, last), fs.statSync(path.join(dir, last)).size - 2);
    const before = backend().memory().nativeBytes;
    const n = tf.memory().numTensors;
    await expect(loadHFCheckpoint(dir, { weights: "bf16" })).rejects.toThrow(/data section/);
    expect(backend().memory().nativeBytes).toBe(before);
    expect(tf.memory().numTensors).toBe(n);
  });
});

describe("on other backends", () => {
  test('cpu: weights "bf16" falls back to float32 with the same results', async () => {
    await setBackend("cpu");
    const a = await loadHFCheckpoint(dirs.bf16, { weights: "bf16" });
    const b = await loadHFCheckpoint(dirs.bf16, { weights: "f32" });
    expect(a.bf16Parameters()).toEqual([]);
    expect(a.parameterBytes()).toBe(4 * [...a.namedParameters().values()].reduce((n, v) => n + v.size, 0));
    expectBitEqual(logitsOf(a), logitsOf(b));
    a.dispose();
    b.dispose();
  });

  test("a bad weights option is refused", async () => {
    await expect(loadHFCheckpoint(dirs.bf16, { weights: "fp8" as "bf16" })).rejects.toThrow(
      /weights must be/,
    );
  });
});
