// The model on tfjs's WebGPU backend (Dawn; Mesa's llvmpipe in CI, which setup installs): backend
// selection and its log line, the per-parameter limit check, and the model's outputs and gradients
// against the cpu backend. The PyTorch goldens run on webgpu in golden.test.ts.
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { describeBackend, LlamaForCausalLM, resolveConfig, setBackend, TensorLimitError } from "../src/index";
import { expectAllClose } from "./helpers";

let available = false;
beforeAll(async () => {
  available = await setBackend("webgpu").then(
    () => true,
    (e) => {
      // CI has an adapter (llvmpipe): failing to get one there is a failure, not a skip.
      if (process.env.CI) throw e;
      return false;
    },
  );
  if (available) tf.env().set("WEBGPU_CPU_FORWARD", false);
});
afterAll(async () => {
  await setBackend("cpu");
});

const CONFIG = resolveConfig({
  vocab_size: 96,
  hidden_size: 32,
  intermediate_size: 80,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
});

describe("webgpu backend", () => {
  test("the run log names the adapter; auto never takes a software adapter", async (ctx) => {
    if (!available) ctx.skip();
    expect(await setBackend("webgpu")).toBe("webgpu");
    const line = await describeBackend();
    expect(line).toMatch(/^webgpu \(.+, binding limit \d+ MiB\)$/);
    if (/llvmpipe|software/.test(line)) {
      // Only a software adapter here: auto must pick a CPU backend.
      expect(await setBackend("auto")).not.toBe("webgpu");
      expect(await setBackend("webgpu")).toBe("webgpu");
    }
  });

  test("a parameter over the adapter's binding limit is refused by name before anything is allocated", async (ctx) => {
    if (!available) ctx.skip();
    const limit = Number(/binding limit (\d+) MiB/.exec(await describeBackend())?.[1]) * 2 ** 20;
    // An embedding one row of 1024 floats larger than the limit.
    const hidden = 1024;
    const vocab = limit / (4 * hidden) + 1;
    const before = tf.memory().numTensors;
    const make = () =>
      new LlamaForCausalLM({
        ...CONFIG,
        vocab_size: vocab,
        hidden_size: hidden,
        num_attention_heads: 8,
        num_key_value_heads: 8,
      });
    expect(make).toThrow(TensorLimitError);
    expect(make).toThrow(
      /"model\.embed_tokens\.weight" \[\d+,1024\] is [\d.]+ MiB in float32, over the webgpu adapter's storage binding limit of [\d.]+ MiB/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  test("logits, loss and every gradient equal the cpu backend's within 1e-4 relative", async (ctx) => {
    if (!available) ctx.skip();
    const ids = [
      Array.from({ length: 12 }, (_, i) => (i * 7 + 1) % 96),
      Array.from({ length: 12 }, (_, i) => (i * 5 + 3) % 96),
    ];
    const run = async (backend: "cpu" | "webgpu") => {
      await setBackend(backend);
      const m = new LlamaForCausalLM(CONFIG, { seed: 5 });
      const logits = m.logits(ids);
      const l = (await logits.data()).slice();
      logits.dispose();
      const { loss, grads } = await m.lossAndGrads(ids, ids);
      const g = new Map<string, Float32Array>();
      for (const [name, t] of grads) g.set(name, ((await t.data()) as Float32Array).slice());
      tf.dispose([...grads.values()]);
      m.dispose();
      return { l, loss, g };
    };
    const cpu = await run("cpu");
    const gpu = await run("webgpu");
    expectAllClose(gpu.l, cpu.l, 1e-4, 0);
    expect(Math.abs(gpu.loss - cpu.loss) / Math.abs(cpu.loss)).toBeLessThan(1e-4);
    expect([...gpu.g.keys()]).toEqual([...cpu.g.keys()]);
    for (const [name, want] of cpu.g) {
      try {
        expectAllClose(gpu.g.get(name) as Float32Array, want, 1e-4, 0);
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
    }
  });
});
