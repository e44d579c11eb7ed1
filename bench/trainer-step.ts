// Cost of the trainer's composition around one optimizer step: `train()` (BatchPlan → micro-steps →
// FSDP flatten/reduce → clip → AdamW on shards → all-gather → setParameter → metrics) against a bare
// baseline measured in the same run on the same model and data (lossAndGrads on the whole batch +
// AdamW on full parameters + setParameter), and how the step time changes with the micro-batch split.
// Run: pnpm --filter @biomed-llama/trainer build && pnpm tsx bench/trainer-step.ts [--steps 6] [--backend wasm]
// Writes bench/results/trainer-step.json. The machine is shared: load average is recorded.
import { mkdtempSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
// bench/ is not a workspace dependent of the packages, so it loads the built entries by path.
import {
  initHFCheckpoint,
  loadHFCheckpoint,
  resolveConfig,
  setBackend,
} from "../packages/llama-model/dist/index.js";
import { AdamW } from "../packages/optimizer/dist/index.js";
import { IndexedDatasetWriter } from "../packages/tokenizer/dist/index.js";
import { openPretrainSequences, train, validateConfig } from "../packages/trainer/dist/index.js";
import { arg } from "./bench-args.js";
import { writeResult } from "./write-result.js";

const steps = Number(arg("steps", "6"));
const backend = arg("backend", "wasm") as "wasm" | "cpu";
const SEQ = 128;
const G = 8;

const model = resolveConfig({
  vocab_size: 2000,
  hidden_size: 128,
  intermediate_size: 344,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  max_position_embeddings: 256,
});

const dir = mkdtempSync(join(tmpdir(), "bench-trainer-"));
const hf = join(dir, "hf");
await initHFCheckpoint(model, hf, { seed: 1 });
const prefix = join(dir, "data");
const w = new IndexedDatasetWriter(prefix, { dtype: "uint16" });
for (let d = 0; d < 400; d++)
  w.addDocument(Array.from({ length: 100 + (d % 50) }, (_, i) => ((d * 31 + i * 7) % 1990) + 3));
await w.finalize();
const data = openPretrainSequences(prefix, { packing: "pack", seqLen: SEQ, eosId: 2, padId: 0 });

const used = await setBackend(backend);

/** Baseline: the model and the optimizer alone, whole global batch in one pass, no sharding. */
async function baseline(): Promise<number[]> {
  const m = await loadHFCheckpoint(hf);
  const opt = new AdamW({ lr: 1e-3, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
  const params = await m.stateDict();
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t = performance.now();
    const batch = Array.from({ length: G }, (_, i) => data.get(s * G + i));
    const out = await m.lossAndGrads(
      batch.map((b) => b.inputIds),
      batch.map((b) => b.labels),
      { reduction: "sum" },
    );
    const shards = [];
    for (const [name, g] of out.grads) {
      const grad = g.dataSync() as Float32Array;
      g.dispose();
      for (let i = 0; i < grad.length; i++) grad[i] /= out.tokens;
      shards.push({ key: name, param: params.get(name)!, grad });
    }
    opt.step(shards, 1e-3);
    for (const [name, p] of params) m.setParameter(name, p);
    times.push(performance.now() - t);
  }
  m.dispose();
  return times;
}

async function trainer(micro: number): Promise<number[]> {
  const config = validateConfig({
    init_from: hf,
    out: join(dir, `run-m${micro}`),
    seq_len: SEQ,
    global_batch: G,
    micro_batch: micro,
    max_steps: steps,
    warmup_steps: 1,
    lr: 1e-3,
    data_order: "sequential",
    backend,
  });
  const times: number[] = [];
  let last = performance.now();
  await train({
    config,
    data,
    log: () => {},
    onStep: () => {
      const now = performance.now();
      times.push(now - last);
      last = now;
    },
  });
  return times;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// the first step pays for kernel warm-up; report the median of the rest
const summarize = (times: number[]) => {
  const ms = median(times.slice(1));
  return { stepMsMedian: ms, tokensPerS: (G * SEQ) / (ms / 1000), stepMs: times.map((t) => Math.round(t)) };
};

const results: Record<string, unknown> = { baseline: summarize(await baseline()) };
for (const micro of [8, 4, 2]) results[`train_micro${micro}`] = summarize(await trainer(micro));
const base = (results.baseline as { stepMsMedian: number }).stepMsMedian;
for (const k of Object.keys(results))
  (results[k] as Record<string, number>).overVsBaseline =
    (results[k] as { stepMsMedian: number }).stepMsMedian / base;

const out = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgAtStart: loadavg() },
  backend: used,
  model,
  seqLen: SEQ,
  globalBatch: G,
  steps,
  results,
};
writeResult("trainer-step", out);
console.log(JSON.stringify(results, null, 2));
data.close();
