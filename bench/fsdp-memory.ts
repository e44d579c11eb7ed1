// Per-rank memory of parameters + gradients + AdamW moments under the `none`, `grad-op` and `full`
// strategies on 1, 2 and 4 local ranks, against the target: (1/N + 10 %) of what one unsharded
// replica holds (params + grads + both moments = 4 floats per parameter).
// The model is synthetic: 12 units of 1,000,000 float32 parameters (a 1000x1000 weight each).
// Each rank runs the loop a trainer runs, using only the package's public API:
//   forward (`full`: gatherUnit per unit, dropped after use; the others: the full parameters kept from
//   the last step) -> full local gradients -> reduceGradients -> AdamW on the shards -> for `none` and
//   `grad-op` gatherParameters, whose result is kept until the next step (ZeRO-2 keeps full parameters).
// Counted: the Float32Arrays that outlive a step (ShardedDataParallel's parameter chunks, the AdamW
// moments, the kept full parameters) plus the reduced gradient shards alive at the optimizer step, by
// their byteLength. Cross-check: process.memoryUsage() after a forced GC (arrayBuffers, heap, RSS).
// Run: pnpm --filter @biomed-llama/fsdp-sharding build && pnpm --filter @biomed-llama/optimizer build &&
//      pnpm tsx bench/fsdp-memory.ts   -> bench/results/fsdp-memory.json
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
// bench/ is not a workspace dependent of the packages, so it loads the built entries by path.
import { initProcessGroup, ShardedDataParallel } from "../packages/fsdp-sharding/dist/index.js";
import { AdamW } from "../packages/optimizer/dist/index.js";
import { launchRanks, resultLine } from "./launch-ranks.js";
import { writeResult } from "./write-result.js";

const self = fileURLToPath(import.meta.url);
const UNITS = 12;
const SIDE = 1000; // one SIDE x SIDE weight per unit = 1M parameters
const STEPS = 2;
// "full-per-unit" is `full` with gradients reduced unit by unit (reduceUnitGradients) as backward would
// produce them, so one unit's full gradients are alive at a time instead of the whole model's.
const STRATEGIES = ["none", "grad-op", "full", "full-per-unit"] as const;
const RANKS = [1, 2, 4];
const MB = 1024 * 1024;

interface RankRow {
  strategy: string;
  ranks: number;
  rank: number;
  paramShardBytes: number;
  gradShardBytes: number;
  momentBytes: number;
  keptFullParamBytes: number;
  totalBytes: number;
  /** Largest extra Float32Array bytes alive at once during a step (gathered unit, full local gradients). */
  transientPeakBytes: number;
  arrayBuffersAfterGc: number;
  heapUsedAfterGc: number;
  rss: number;
  maxRss: number;
}

const bytesOf = (xs: Iterable<Float32Array>) => {
  let n = 0;
  for (const x of xs) n += x.byteLength;
  return n;
};

async function worker(strategy: (typeof STRATEGIES)[number]): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run the worker with --expose-gc");
  const group = await initProcessGroup({ timeoutMs: 600_000 });
  const units = Array.from({ length: UNITS }, (_, u) => ({
    name: `layers.${u}`,
    params: [{ name: `layers.${u}.w`, shape: [SIDE, SIDE] }],
  }));
  const perUnit = strategy === "full-per-unit";
  const sdp = new ShardedDataParallel({ units, strategy: perUnit ? "full" : strategy, group });
  // Initial values exist in full only during init. Locals of a suspended async function stay reachable
  // (V8 keeps its register file), so transient buffers are dropped explicitly, not left to scope.
  let init: Map<string, Float32Array> | null = new Map();
  for (const u of units) init.set(u.params[0].name, new Float32Array(SIDE * SIDE).fill(0.01));
  sdp.initParameters(init);
  init = null;
  const opt = new AdamW({ lr: 1e-3, weightDecay: 0.1 });
  let kept: Map<string, Float32Array> | null = null;
  let gradShardBytes = 0;
  let transientPeakBytes = 0;
  for (let step = 0; step < STEPS; step++) {
    // Forward: ZeRO-3 materialises one unit at a time and drops it; the others read `kept`.
    let gatheredPeak = 0;
    if (sdp.reshardAfterForward) {
      let one: Map<string, Float32Array> | null = null;
      for (const u of units) {
        one = null; // the previous unit is freed before the next is gathered
        one = await sdp.gatherUnit(u.name);
        gatheredPeak = Math.max(gatheredPeak, bytesOf(one.values()));
      }
      one = null;
    }
    // Backward: full local gradients of every parameter (what reduceGradients takes).
    const fakeGrad = () => new Float32Array(SIDE * SIDE).fill(1e-3 * (group.rank + 1));
    let fullGradBytes = 0;
    let shards: Awaited<ReturnType<typeof sdp.reduceGradients>> = [];
    if (perUnit) {
      let one: Map<string, Float32Array> | null = null;
      for (const u of [...units].reverse()) {
        one = null;
        one = new Map([[u.params[0].name, fakeGrad()]]);
        fullGradBytes = Math.max(fullGradBytes, bytesOf(one.values()));
        shards.push(await sdp.reduceUnitGradients(u.name, one));
      }
      one = null;
    } else {
      let grads: Map<string, Float32Array> | null = new Map();
      for (const u of units) grads.set(u.params[0].name, fakeGrad());
      fullGradBytes = bytesOf(grads.values());
      shards = await sdp.reduceGradients(grads);
      grads = null;
    }
    gradShardBytes = bytesOf(shards.map((s) => s.grad));
    opt.step(shards.map((s) => ({ key: s.key, param: s.param, grad: s.grad })));
    transientPeakBytes = Math.max(transientPeakBytes, gatheredPeak, fullGradBytes);
    if (!sdp.reshardAfterForward) {
      kept = null;
      kept = await sdp.gatherParameters();
    }
  }
  gc();
  gc();
  const mem = process.memoryUsage();
  const paramShardBytes = bytesOf(sdp.parameterShards().map((s) => s.param));
  const state = opt.stateDict().state;
  const momentBytes = bytesOf(Object.values(state).flatMap((s) => [s.expAvg, s.expAvgSq]));
  const keptFullParamBytes = kept ? bytesOf(kept.values()) : 0;
  const row: RankRow = {
    strategy,
    ranks: group.size,
    rank: group.rank,
    paramShardBytes,
    gradShardBytes,
    momentBytes,
    keptFullParamBytes,
    totalBytes: paramShardBytes + gradShardBytes + momentBytes + keptFullParamBytes,
    transientPeakBytes,
    arrayBuffersAfterGc: mem.arrayBuffers,
    heapUsedAfterGc: mem.heapUsed,
    rss: mem.rss,
    maxRss: process.resourceUsage().maxRSS * 1024,
  };
  // Keep `kept` reachable until after the measurement.
  if (kept && kept.size !== UNITS) throw new Error("lost parameters");
  const rows = group.size > 1 ? await collect(group, row) : [row];
  if (group.rank === 0) process.stdout.write(`RESULT ${JSON.stringify(rows)}\n`);
  await group.destroy();
}

/** Rank 0 gets every rank's row (numbers only) through an all-reduce of a one-hot matrix. */
async function collect(
  group: Awaited<ReturnType<typeof initProcessGroup>>,
  row: RankRow,
): Promise<RankRow[]> {
  const fields = [
    "paramShardBytes",
    "gradShardBytes",
    "momentBytes",
    "keptFullParamBytes",
    "totalBytes",
    "transientPeakBytes",
    "arrayBuffersAfterGc",
    "heapUsedAfterGc",
    "rss",
    "maxRss",
  ] as const;
  // Float32 loses integers above 2^24, so values travel in KiB (exact for these sizes to 1 KiB).
  const buf = new Float32Array(group.size * fields.length);
  fields.forEach((f, i) => {
    buf[group.rank * fields.length + i] = row[f] / 1024;
  });
  await group.allReduce(buf, "sum");
  return Array.from({ length: group.size }, (_, r) => {
    const out = { strategy: row.strategy, ranks: row.ranks, rank: r } as RankRow;
    fields.forEach((f, i) => {
      out[f] = Math.round(buf[r * fields.length + i]) * 1024;
    });
    return out;
  });
}

async function main(): Promise<void> {
  const numel = UNITS * SIDE * SIDE;
  // One unsharded replica: params + grads + exp_avg + exp_avg_sq, float32.
  const unshardedBytes = 4 * numel * 4;
  const configs: unknown[] = [];
  for (const strategy of STRATEGIES) {
    for (const ranks of RANKS) {
      const out = await launchRanks({
        nproc: ranks,
        what: `${strategy} ranks=${ranks}`,
        command: [process.execPath, "--expose-gc", "--import", "tsx", self, "--worker", strategy],
      });
      const rows = resultLine<RankRow[]>(out);
      const targetBytes = (1 / ranks + 0.1) * unshardedBytes;
      const maxTotal = Math.max(...rows.map((r) => r.totalBytes));
      const maxPeak = Math.max(...rows.map((r) => r.totalBytes + r.transientPeakBytes));
      const cfg = {
        strategy,
        ranks,
        targetBytes,
        maxRankBytesBetweenSteps: maxTotal,
        ratioToUnsharded: maxTotal / unshardedBytes,
        meetsTarget: maxTotal <= targetBytes,
        maxRankPeakBytesInStep: maxPeak,
        peakMeetsTarget: maxPeak <= targetBytes,
        perRank: rows,
      };
      configs.push(cfg);
      process.stderr.write(
        `${strategy.padEnd(7)} n=${ranks}: ${(maxTotal / MB).toFixed(1)} MiB between steps ` +
          `(${(cfg.ratioToUnsharded * 100).toFixed(1)} % of unsharded, target ${((targetBytes / unshardedBytes) * 100).toFixed(0)} %: ${cfg.meetsTarget ? "met" : "NOT met"}); ` +
          `peak in step ${(maxPeak / MB).toFixed(1)} MiB; arrayBuffers after GC rank0 ${(rows[0].arrayBuffersAfterGc / MB).toFixed(1)} MiB, RSS ${(rows[0].rss / MB).toFixed(0)} MiB\n`,
      );
    }
  }
  const result = {
    bench: "fsdp-sharding per-rank memory: params + grads + AdamW moments",
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadavgAtStart: loadavg(),
    model: { units: UNITS, paramsPerUnit: SIDE * SIDE, numel },
    unshardedBytes,
    target:
      "(1/N + 0.1) x unshardedBytes, unshardedBytes = 4 float32 per parameter (param, grad, exp_avg, exp_avg_sq)",
    counted:
      "between steps: ShardedDataParallel parameter chunks + reduced gradient shards (alive at the optimizer step) + AdamW moments + full parameters the loop keeps (none, grad-op). Peak in step adds the largest transient: the full local gradients handed to reduceGradients (one unit's for full-per-unit), or one gathered unit. Not counted: per-unit scratch inside the collectives (a flattened copy and a reduce-scatter buffer, one unit each); maxRss is the cross-check.",
    configs,
  };
  const path = writeResult("fsdp-memory", result);
  process.stderr.write(`wrote ${path}\n`);
}

const wi = process.argv.indexOf("--worker");
if (wi >= 0) await worker(process.argv[wi + 1] as (typeof STRATEGIES)[number]);
else await main();
