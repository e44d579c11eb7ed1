// The LLaMA shapes the speed benches share: configs A and B (issue 13's train-step targets) and the
// 1.1B TinyLlama shape (22 layers, hidden 2048, intermediate 5632, 32 heads, 4 KV heads, vocab 32000).
import { type LlamaConfig, presetConfig, resolveConfig } from "../packages/llama-model/dist/index.js";

export interface BenchConfig {
  config: LlamaConfig;
  seq: number;
  batch: number;
}

export const CONFIGS: Record<string, BenchConfig> = {
  // tiny-llama-256: vocab 32000, hidden 256, intermediate 688, 4 layers, 4 heads
  A: {
    config: presetConfig("tiny-llama-256"),
    seq: 256,
    batch: 4,
  },
  B: {
    config: resolveConfig({
      vocab_size: 8000,
      hidden_size: 512,
      intermediate_size: 1376,
      num_hidden_layers: 8,
      num_attention_heads: 8,
      max_position_embeddings: 1024,
      rms_norm_eps: 1e-6,
    }),
    seq: 512,
    batch: 2,
  },
  "1.1B": {
    config: resolveConfig({
      vocab_size: 32000,
      hidden_size: 2048,
      intermediate_size: 5632,
      num_hidden_layers: 22,
      num_attention_heads: 32,
      num_key_value_heads: 4,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-5,
    }),
    seq: 2048,
    batch: 1,
  },
};

/** Deterministic token ids (an LCG), the same in every bench and run. */
export function batchOf(V: number, B: number, T: number, seed: number): number[][] {
  let s = seed;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  return Array.from({ length: B }, () => Array.from({ length: T }, () => next() % V));
}
