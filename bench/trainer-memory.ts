// Memory per rank of the trainer itself (`train()`, a real LLaMA, AdamW) under `none` (DDP) and `full`
// (ZeRO-3: parameters only as shards, the model run unit by unit) on 1, 2 and 4 local ranks, against the
// issue's target for `full`: ≤ (1/N + 10 %) of what one unsharded replica holds in parameters + gradients
// + both AdamW moments (4 float32 per parameter).
// Measured, not computed: each rank runs on the tfjs `cpu` backend, whose tensors are ordinary
// ArrayBuffers, so `process.memoryUsage().arrayBuffers` after a forced GC counts every live tensor,
// shard, moment and buffer of the process. The rank's own baseline (tfjs loaded, data open, process
// group up, no model yet) is subtracted; what remains after each step is what the run keeps.
// Parameters dominate by construction (short sequences), so activations barely register.
// Run: pnpm build && pnpm tsx bench/trainer-memory.ts   -> bench/results/trainer-memory.json
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
// bench/ is not a workspace dependent of the packages, so it loads the built entries by path.
import {
  initHFCheckpoint,
  parameterCount,
  resolveConfig,
  setBackend,
} from "../packages/llama-model/dist/index.js";
import { IndexedDatasetWriter } from "../packages/tokenizer/dist/index.js";
import { openPretrainSequences, train, validateConfig } from "../packages/trainer/dist/index.js";
import { launchRanks } from "./launch-ranks.js";
import { writeResult } from "./write-result.js";

const self = fileURLToPath(import.meta.url);
const MB = 1024 * 1024;
const STEPS = 4;
const SEQ = 16;
const RANKS = (process.env.BENCH_RANKS ?? "1,2,4").split(",").map(Number);
const STRATEGIES = (process.env.BENCH_STRATEGIES ?? "none,full").split(",");

const MODEL = resolveConfig({
  vocab_size: 8000,
  hidden_size: 256,
  intermediate_size: 688,
  num_hidden_layers: 8,
  num_attention_heads: 4,
  max_position_embeddings: 64,
});

interface RankSample {
  rank: number;
  baselineArrayBuffers: number;
  /** arrayBuffers after GC at the end of each step, minus the baseline. */
  afterStepBytes: number[];
  maxRss: number;
}

/** V8 frees ArrayBuffer backing stores on a background thread after GC: collect, let it run, again. */
async function settle(gc: () => void): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function worker(strategy: string, hf: string, prefix: string, outFile: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run the worker with --expose-gc");
  await setBackend("cpu");
  const data = openPretrainSequences(prefix, { packing: "pack", seqLen: SEQ, eosId: 2, padId: 0 });
  data.get(0);
  await settle(gc);
  const baseline = process.memoryUsage().arrayBuffers;
  const afterStepBytes: number[] = [];
  const rank = Number(process.env.RANK ?? 0);
  await train({
    config: validateConfig({
      init_from: hf,
      out: join(dirname(outFile), `run-${strategy}-${process.env.WORLD_SIZE}`),
      seq_len: SEQ,
      global_batch: 4,
      micro_batch: 1,
      lr: 1e-3,
      max_steps: STEPS,
      sharding: strategy,
      backend: "cpu",
      save_interval: 0,
      log_interval: 1000,
    }),
    data,
    log: () => {},
    afterStep: async () => {
      await settle(gc);
      afterStepBytes.push(process.memoryUsage().arrayBuffers - baseline);
    },
  });
  const sample: RankSample = {
    rank,
    baselineArrayBuffers: baseline,
    afterStepBytes,
    maxRss: process.resourceUsage().maxRSS * 1024,
  };
  writeFileSync(`${outFile}.${rank}`, JSON.stringify(sample));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bench-trainer-memory-"));
  const hf = join(dir, "hf");
  await initHFCheckpoint(MODEL, hf, { seed: 1 });
  const prefix = join(dir, "data");
  const w = new IndexedDatasetWriter(prefix, { dtype: "uint16" });
  for (let d = 0; d < 200; d++)
    w.addDocument(Array.from({ length: 40 + (d % 30) }, (_, i) => ((d * 31 + i * 7) % 7990) + 3));
  await w.finalize();

  const P = parameterCount(MODEL);
  const replicaBytes = 16 * P; // params + grads + exp_avg + exp_avg_sq, float32
  const rows = [];
  const startLoad = loadavg();
  for (const strategy of STRATEGIES)
    for (const n of RANKS) {
      const out = join(dir, `${strategy}-${n}.json`);
      await launchRanks({
        nproc: n,
        what: `${strategy} on ${n} rank(s)`,
        command: [
          process.execPath,
          "--expose-gc",
          "--import",
          "tsx",
          self,
          "--worker",
          strategy,
          hf,
          prefix,
          out,
        ],
      });
      const ranks: RankSample[] = Array.from({ length: n }, (_, r) =>
        JSON.parse(readFileSync(`${out}.${r}`, "utf8")),
      );
      // steady state: the largest end-of-step reading after the first step, over ranks
      const kept = Math.max(...ranks.flatMap((r) => r.afterStepBytes.slice(1)));
      const fraction = kept / replicaBytes;
      const target = 1 / n + 0.1;
      rows.push({
        strategy,
        ranks: n,
        keptBytesPerRank: kept,
        keptMB: kept / MB,
        fractionOfReplica: fraction,
        target: strategy === "full" ? target : null,
        meetsTarget: strategy === "full" ? fraction <= target : null,
        perRank: ranks,
      });
      console.log(
        `${strategy.padEnd(5)} ${n} rank(s): kept ${(kept / MB).toFixed(1)} MiB/rank = ${(100 * fraction).toFixed(1)} % of a replica's ${(replicaBytes / MB).toFixed(0)} MiB` +
          (strategy === "full" ? ` (target ≤ ${(100 * target).toFixed(0)} %)` : ""),
      );
    }
  const result = {
    bench: "trainer memory per rank: none (DDP) vs full (ZeRO-3, unit by unit)",
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadavgAtStart: startLoad,
    loadavgAtEnd: loadavg(),
    method:
      "tfjs cpu backend; process.memoryUsage().arrayBuffers after a forced GC at the end of every step, minus the rank's baseline before the model exists; max over ranks and over steps 2..",
    model: MODEL,
    parameters: P,
    replicaBytes,
    seqLen: SEQ,
    globalBatch: 4,
    microBatch: 1,
    steps: STEPS,
    rows,
  };
  const file = writeResult("trainer-memory", result);
  console.log(`wrote ${file}`);
}

const argv = process.argv.slice(2);
if (argv[0] === "--worker") await worker(argv[1], argv[2], argv[3], argv[4]);
else await main();
