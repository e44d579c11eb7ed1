// loadLlamaLM on a BF16 checkpoint: on the native backend the weights stay bfloat16 (the default for
// evaluation) and every score equals the float32-widened model's to float32 rounding; elsewhere the same
// call loads float32. Load progress is reported from 0 to the checkpoint's bytes. Skipped only where the
// native backend is not built (never in CI).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initHFCheckpoint, resolveConfig, setBackend } from "@biomed-llama/llama-model";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadLlamaLM } from "../src/llama-lm.js";
import { loglikelihood } from "../src/loglikelihood.js";

const root = mkdtempSync(join(tmpdir(), "eval-bf16-"));
const dir = join(root, "tiny-bf16");
// LLaMA's 32000-token vocabulary so the bundled tokenizer fits; small everywhere else.
const CONFIG = resolveConfig({
  vocab_size: 32000,
  hidden_size: 64,
  intermediate_size: 160,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 128,
  initializer_range: 0.05,
});

const REQUESTS = [
  { context: "Question: Which vitamin is fat soluble?\nA. C\nB. D\nAnswer:", continuation: " A" },
  { context: "Question: Which vitamin is fat soluble?\nA. C\nB. D\nAnswer:", continuation: " B" },
  {
    context: "Abstract: aspirin inhibits cyclooxygenase.\nQuestion: ok?\nAnswer:",
    continuation: " maybe so",
  },
  { context: "Hi", continuation: " there, how are you today?" },
];

let native = false;
beforeAll(async () => {
  await initHFCheckpoint(CONFIG, dir, { seed: 5, dtype: "BF16" });
  native = await setBackend("native").then(
    () => true,
    (e) => {
      if (process.env.CI) throw e;
      return false;
    },
  );
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("loadLlamaLM on a BF16 checkpoint", () => {
  test("native: weights held as bfloat16 by default, scores equal the float32 load's", async (ctx) => {
    if (!native) ctx.skip();
    const progress: [number, number][] = [];
    const held = await loadLlamaLM(dir, {
      backend: "native",
      onLoadProgress: (done, total) => progress.push([done, total]),
    });
    const wide = await loadLlamaLM(dir, { backend: "native", weights: "f32" });
    expect(held.backend).toBe("native");
    expect(held.weights).toBe("bf16");
    expect(wide.weights).toBe("f32");
    // Matrices at 2 bytes per parameter; the norms (2 x 2 + 1 vectors of 64) at 4.
    const norms = 5 * 64;
    const params = held.model.namedParameters();
    const total = [...params.values()].reduce((n, v) => n + v.size, 0);
    expect(held.parameterBytes).toBe(2 * (total - norms) + 4 * norms);
    expect(wide.parameterBytes).toBe(4 * total);
    const bytes = 2 * total; // every tensor is stored as BF16
    expect(progress[0]).toEqual([0, bytes]);
    expect(progress.at(-1)).toEqual([bytes, bytes]);
    const a = await loglikelihood(held, REQUESTS);
    const b = await loglikelihood(wide, REQUESTS);
    for (let i = 0; i < a.length; i++) {
      expect(a[i][0]).toBeCloseTo(b[i][0], 4);
      expect(a[i][1]).toBe(b[i][1]);
    }
    held.dispose();
    wide.dispose();
  });

  test("cpu: the same call loads float32 with the same scores", async () => {
    const cpu = await loadLlamaLM(dir, { backend: "cpu" });
    expect(cpu.weights).toBe("f32");
    const scores = await loglikelihood(cpu, REQUESTS);
    cpu.dispose();
    if (!native) return;
    const held = await loadLlamaLM(dir, { backend: "native" });
    const ours = await loglikelihood(held, REQUESTS);
    held.dispose();
    for (let i = 0; i < scores.length; i++) {
      expect(ours[i][0]).toBeCloseTo(scores[i][0], 3);
      expect(ours[i][1]).toBe(scores[i][1]);
    }
  });
});
