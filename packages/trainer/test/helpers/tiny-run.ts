import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initHFCheckpoint, resolveConfig } from "@biomed-llama/llama-model";
import { IndexedDatasetWriter } from "@biomed-llama/tokenizer";
import { validateConfig } from "../../src/config";

/** A 2-layer LLaMA small enough that a training step takes milliseconds on the cpu backend. */
export const TINY_MODEL = resolveConfig({
  vocab_size: 96,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
  bos_token_id: 1,
  eos_token_id: 2,
  torch_dtype: "float32",
});

/** HF checkpoint of the tiny model written by the model package (the --init-from input). */
export async function tinyCheckpoint(dir: string, seed = 3): Promise<string> {
  await initHFCheckpoint(TINY_MODEL, dir, { seed });
  return dir;
}

/**
 * A real MMIDIDX dataset of `docs` documents: counting runs (start, start+1, ...) mod 90 + 3, of
 * varying length, so the next token is predictable and the loss can fall.
 */
export async function countingDataset(prefix: string, docs = 48): Promise<string> {
  const w = new IndexedDatasetWriter(prefix, { dtype: "uint16" });
  for (let d = 0; d < docs; d++) {
    const len = 10 + ((d * 7) % 23);
    const start = (d * 13) % 90;
    w.addDocument(Array.from({ length: len }, (_, i) => ((start + i) % 90) + 3));
  }
  await w.finalize();
  return prefix;
}

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `trainer-${prefix}-`));
}

export function tinyConfig(overrides: Record<string, unknown>) {
  return validateConfig({
    seq_len: 24,
    global_batch: 4,
    micro_batch: 4,
    lr: 1e-2,
    warmup_steps: 2,
    schedule: "cosine",
    min_lr_ratio: 0.1,
    weight_decay: 0.1,
    decay: "matrices",
    clip: 1.0,
    max_steps: 6,
    packing: "pack",
    data_order: "shuffle",
    seed: 5,
    backend: "wasm",
    save_interval: 0,
    keep_last: 2,
    ...overrides,
  });
}
