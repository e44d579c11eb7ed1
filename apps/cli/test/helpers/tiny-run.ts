// The inputs every run test of the CLI trains on: a 2-layer LLaMA written by the model package (the
// --init-from checkpoint) and a real MMIDIDX dataset of counting runs, so the loss can fall; plus the
// flags of a short pretraining run and its loss trace as metrics.jsonl records it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { initHFCheckpoint, resolveConfig } from "@biomed-llama/llama-model";
import { IndexedDatasetWriter } from "@biomed-llama/tokenizer";

export interface TinyInputs {
  /** HF checkpoint directory. */
  hf: string;
  /** Indexed-dataset prefix. */
  data: string;
}

/** Writes the tiny checkpoint (`dir/hf`) and the counting dataset (`dir/counting`). */
export async function tinyInputs(dir: string): Promise<TinyInputs> {
  const hf = join(dir, "hf");
  await initHFCheckpoint(
    resolveConfig({
      vocab_size: 96,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 64,
    }),
    hf,
    { seed: 3 },
  );
  const data = join(dir, "counting");
  const w = new IndexedDatasetWriter(data, { dtype: "uint16" });
  for (let d = 0; d < 48; d++)
    w.addDocument(Array.from({ length: 10 + ((d * 7) % 23) }, (_, i) => ((((d * 13) % 90) + i) % 90) + 3));
  await w.finalize();
  return { hf, data };
}

export interface RunShape {
  microBatch?: number;
  maxSteps?: number;
  saveInterval?: number;
  keepLast?: number;
}

/** `pretrain` flags (without the command) of a short run on the tiny inputs, on the wasm backend. */
export function trainFlags(inputs: TinyInputs, out: string, shape: RunShape = {}): string[] {
  const { microBatch = 1, maxSteps = 8, saveInterval = 2, keepLast } = shape;
  return [
    "--init-from",
    inputs.hf,
    "--data",
    inputs.data,
    "--out",
    out,
    "--seq-len",
    "24",
    "--global-batch",
    "4",
    "--micro-batch",
    String(microBatch),
    "--lr",
    "1e-2",
    "--warmup-steps",
    "1",
    "--max-steps",
    String(maxSteps),
    "--save-interval",
    String(saveInterval),
    ...(keepLast === undefined ? [] : ["--keep-last", String(keepLast)]),
    "--backend",
    "wasm",
  ];
}

/** Step → loss of RUN_DIR/metrics.jsonl; throws if a step is logged twice. */
export function losses(runDir: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of readFileSync(join(runDir, "metrics.jsonl"), "utf8").split("\n")) {
    if (!line) continue;
    const r = JSON.parse(line);
    if (!("loss" in r)) continue;
    if (out.has(r.step)) throw new Error(`${runDir}/metrics.jsonl: step ${r.step} logged twice`);
    out.set(r.step, r.loss);
  }
  return out;
}
