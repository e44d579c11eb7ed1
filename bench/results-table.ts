// Writes bench/results/README.md: one table with a row per headline measurement of every
// bench/results/*.json — what was measured, our number, the baseline measured in the same run, the
// ratio where the JSON records one (with its key, so its direction is the key's), the CPU model string
// and the date the file records. The files differ in shape, so each known file has its own small
// extractor below; a file without one is listed as "no headline extractor", never skipped.
// Run: pnpm tsx bench/results-table.ts
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface Row {
  measured: string;
  ours: string;
  baseline: string;
  ratio: string;
}
interface Extractor {
  /** The script that writes the file. */
  script: string;
  rows: (j: any) => Row[];
}

const NONE = "—";

/** A rate or size for the table: 1.18 G, 611 M, 814 k above 100 000, whole numbers from 100, else 3 digits. */
function num(n: number, unit: string): string {
  for (const [prefix, f] of [
    ["G", 1e9],
    ["M", 1e6],
    ["k", 1e3],
  ] as const) {
    if (Math.abs(n) >= Math.max(f, 1e5)) return `${(n / f).toPrecision(3)} ${prefix} ${unit}`;
  }
  return `${Math.abs(n) >= 100 ? Math.round(n) : n.toPrecision(3)} ${unit}`;
}
const ratio = (value: number | null | undefined, key: string) =>
  typeof value === "number" ? `${value >= 0.1 ? value.toFixed(2) : value.toPrecision(2)} (${key})` : NONE;
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const ops: Record<string, string> = {
  allReduce: "all-reduce",
  reduceScatter: "reduce-scatter",
  allGather: "all-gather",
};

const EXTRACTORS: Record<string, Extractor> = {
  "bf16-inference.json": {
    script: "bench/bf16-inference.ts",
    rows: (j) => [
      {
        measured: "TinyLlama-1.1B shape, `biomed-eval run` peak RSS: `--weights bf16` vs `f32`",
        ours: gib(j.tinyllama.eval.bf16.peakRssBytes),
        baseline: gib(j.tinyllama.eval.f32.peakRssBytes),
        ratio: NONE,
      },
      {
        measured: "TinyLlama-1.1B shape, `biomed-llama generate` tokens/s: `--weights bf16` vs `f32`",
        ours: num(j.tinyllama.generate.bf16.tokensPerSecond, "tok/s"),
        baseline: num(j.tinyllama.generate.f32.tokensPerSecond, "tok/s"),
        ratio: NONE,
      },
      {
        measured: "LLaMA-7B, `biomed-eval run` peak RSS with `--weights bf16` (f32 not run: exceeds RAM)",
        ours: gib(j.llama7b.eval.bf16.peakRssBytes),
        baseline: NONE,
        ratio: NONE,
      },
    ],
  },
  "evaluator.json": {
    script: "bench/evaluator-score.ts",
    rows: (j) =>
      j.results.map((r: any) => {
        const rolling = r.task.startsWith("pile_");
        const rate = rolling ? r.scoredTokensPerSec : r.optionsPerSec;
        const unit = rolling ? "tokens/s" : "options/s";
        return {
          measured: `${r.preset} ${r.task}: scored ${unit}, engine on ${r.backend} vs PyTorch ${r.pytorch.version} (${r.pytorch.threads} thread)`,
          ours: num(rate.engine, unit),
          baseline: num(rate.pytorch, unit),
          ratio: ratio(r.speedupVsPytorch, "speedupVsPytorch"),
        };
      }),
  },
  "fsdp-memory.json": {
    script: "bench/fsdp-memory.ts",
    rows: (j) => {
      const at = (strategy: string, ranks: number) =>
        j.configs.find((c: any) => c.strategy === strategy && c.ranks === ranks);
      return [
        {
          measured: "largest rank's bytes between steps, `full`, 4 ranks vs `none`",
          ours: mib(at("full", 4).maxRankBytesBetweenSteps),
          baseline: mib(at("none", 4).maxRankBytesBetweenSteps),
          ratio: ratio(at("full", 4).ratioToUnsharded, "ratioToUnsharded"),
        },
        {
          measured:
            "largest rank's peak bytes in a step, `full` with `reduceUnitGradients`, 4 ranks vs `none`",
          ours: mib(at("full-per-unit", 4).maxRankPeakBytesInStep),
          baseline: mib(at("none", 4).maxRankPeakBytesInStep),
          ratio: NONE,
        },
      ];
    },
  },
  "fsdp-mpi.json": {
    script: "bench/fsdp-mpi-bandwidth.ts",
    rows: (j) =>
      [2, 4].map((ranks) => {
        const at = (transport: string) =>
          j.rows.find(
            (r: any) =>
              r.transport === transport && r.ranks === ranks && r.op === "allReduce" && r.mb === 256,
          );
        return {
          measured: `all-reduce 256 MB bus bandwidth, ${ranks} ranks: ${j.mpi} transport vs our shared-memory path`,
          ours: num(at("mpi").busGBps, "GB/s"),
          baseline: num(at("shm").busGBps, "GB/s"),
          ratio: ratio(at("mpi").mpiOverShm, "mpiOverShm"),
        };
      }),
  },
  "fsdp.json": {
    script: "bench/fsdp-allreduce.ts",
    rows: (j) => {
      const at = (path: string, ranks: number) =>
        j.rows.find((r: any) => r.path === path && r.ranks === ranks && r.op === "allReduce" && r.mb === 256);
      return [
        ...[2, 4].map((ranks) => ({
          measured: `all-reduce 256 MB bus bandwidth, ${ranks} local ranks, default path vs raw loopback TCP one way`,
          ours: num(at("single-copy", ranks).busGBps, "GB/s"),
          baseline: num(j.baseline.rawLoopbackTcpGBps, "GB/s"),
          ratio: ratio(at("single-copy", ranks).busOverRaw, "busOverRaw"),
        })),
        ...[2, 4].map((ranks) => ({
          measured: `all-reduce 256 MB bus bandwidth, ${ranks} local ranks, TCP ring vs raw TCP in the ring's pattern`,
          ours: num(at("tcp", ranks).busGBps, "GB/s"),
          baseline: num(j.baseline.rawRingPerLinkGBps[ranks], "GB/s"),
          ratio: ratio(at("tcp", ranks).busOverRawRing, "busOverRawRing"),
        })),
      ];
    },
  },
  "instruct-mixer-mix.json": {
    script: "bench/instruct-mixer-mix.ts",
    rows: (j) => [
      {
        measured: `${j.draws.toLocaleString("en-US")} weighted draws over ${j.records.toLocaleString("en-US")} records: binary search vs linear-scan baseline`,
        ours: `${j.drawOnly.binarySearchMs} ms`,
        baseline: `${j.drawOnly.linearScanBaselineMs} ms`,
        ratio: NONE,
      },
      {
        measured: `whole \`runMix\` (load, draw, render, write ${j.outputMiB} MiB); peak RSS ${j.peakRssMiB} MiB`,
        ours: `${(j.runMixTotalMs / 1000).toFixed(1)} s`,
        baseline: NONE,
        ratio: NONE,
      },
    ],
  },
  "llama-step.json": {
    script: "bench/llama-step.ts",
    rows: (j) =>
      Object.entries(j.tfjs).flatMap(([name, b]: [string, any]) =>
        Object.entries(b.runs).map(([config, r]: [string, any]) => ({
          measured: `config ${config} training step tokens/s, ${name} backend vs PyTorch ${j.torch.torch} (${j.torch.threads} threads)`,
          ours: num(r.stepTokPerSec, "tok/s"),
          baseline: num(j.torch.runs[config].stepTokPerSec, "tok/s"),
          ratio: ratio(r.stepVsTorch, "stepVsTorch"),
        })),
      ),
  },
  "native-gemm.json": {
    script: "bench/native-gemm.ts",
    rows: (j) => {
      const g = j.rows.find((r: any) => r.shape === "square 1024").gflops;
      return [
        {
          measured: `1024³ float32 matmul: oneDNN ${j.onednn.onednn} vs ${j.openblas}`,
          ours: num(g.onednnF32, "GFLOP/s"),
          baseline: num(g.openblasF32, "GFLOP/s"),
          ratio: NONE,
        },
        {
          measured: `1024³ matmul: oneDNN bfloat16 (${j.onednn.isa}) vs oneDNN float32`,
          ours: num(g.onednnBf16, "GFLOP/s"),
          baseline: num(g.onednnF32, "GFLOP/s"),
          ratio: NONE,
        },
      ];
    },
  },
  "optimizer.json": {
    script: "bench/optimizer-adamw.ts",
    rows: (j) => {
      const torchAt = (threads: number) =>
        Math.max(
          ...j.torch.runs.filter((r: any) => r.threads === threads).map((r: any) => r.elementsPerSecond),
        );
      const row = (what: string, ours: any) => ({
        measured: `AdamW step on ${num(j.elements, "float32 parameters")}: ${what} vs torch ${j.torch.torch} AdamW on as many threads (faster of foreach on/off)`,
        ours: num(ours.elementsPerSecond, "elem/s"),
        baseline: num(torchAt(ours.threads), "elem/s"),
        ratio: NONE,
      });
      return [
        row(`${j.ours.kernel} loop, ${j.ours.threads} threads`, j.ours),
        row(`${j.oursOneThread.kernel} loop, 1 thread`, j.oursOneThread),
        row(`${j.oursJs.kernel} loop, 1 thread`, j.oursJs),
      ];
    },
  },
  "pile-reader.json": {
    script: "bench/pile-reader-throughput.ts",
    rows: (j) => [
      {
        measured: `PileReader, default (PubMed) subsets, wall MB/s vs \`${j.baseline.command}\``,
        ours: num(j.readerPubMed.mbPerSec, "MB/s"),
        baseline: num(j.baseline.mbPerSec, "MB/s"),
        ratio: ratio(j.readerPubMed.ratioToBaseline, "ratioToBaseline"),
      },
      {
        measured: "PileReader, default (PubMed) subsets, MB per CPU-second vs the same baseline",
        ours: num(j.readerPubMed.mbPerCpuSec, "MB/CPU-s"),
        baseline: num(j.baseline.mbPerCpuSec, "MB/CPU-s"),
        ratio: ratio(j.readerPubMed.cpuRatioToBaseline, "cpuRatioToBaseline"),
      },
      {
        measured: "PileReader, every subset parsed and validated, wall MB/s vs the same baseline",
        ours: num(j.readerAll.mbPerSec, "MB/s"),
        baseline: num(j.baseline.mbPerSec, "MB/s"),
        ratio: ratio(j.readerAll.ratioToBaseline, "ratioToBaseline"),
      },
    ],
  },
  "ring-netns.json": { script: "bench/ring-netns.ts", rows: (j) => ringNetns(j) },
  "ring-netns-1gbit.json": { script: "bench/ring-netns.ts --rate 1gbit", rows: (j) => ringNetns(j) },
  "token-range.json": {
    script: "bench/token-range.ts",
    rows: (j) => [
      {
        measured: "largest token id of a uint16 dataset: `tokenRange` vs `get(i)` per document",
        ours: num(j.tokenRangeGBps, "GB/s"),
        baseline: num(j.perDocumentGBps, "GB/s"),
        ratio: ratio(j.speedup, "speedup"),
      },
    ],
  },
  "tokenizer.json": {
    script: "bench/tokenizer-throughput.ts",
    rows: (j) =>
      [
        "js engine in-thread, encode() only",
        "wasm engine in-thread, encode() only",
        "tokenizeDocuments workers=0",
      ].map((name) => ({
        measured: `LLaMA tokenizer, ${name} vs ${j.baseline.tool}`,
        ours: num(j.ours[name].tokensPerSecond, "tok/s"),
        baseline: num(j.baseline.tokensPerSecond, "tok/s"),
        ratio: ratio(j.ours[name].ratioToCppSingleThread, "ratioToCppSingleThread"),
      })),
  },
  "trainer-memory.json": {
    script: "bench/trainer-memory.ts",
    rows: (j) =>
      [2, 4].map((ranks) => {
        const at = (strategy: string) =>
          j.rows.find((r: any) => r.strategy === strategy && r.ranks === ranks);
        return {
          measured: `\`train()\` bytes kept per rank between steps, ${ranks} ranks: \`full\` vs \`none\``,
          ours: mib(at("full").keptBytesPerRank),
          baseline: mib(at("none").keptBytesPerRank),
          ratio: ratio(at("full").fractionOfReplica, "fractionOfReplica"),
        };
      }),
  },
  "trainer-step.json": {
    script: "bench/trainer-step.ts",
    rows: (j) => [
      {
        measured: `\`train()\` step time, one micro-batch of ${j.globalBatch}, vs a bare loss + AdamW loop (${j.backend})`,
        ours: `${Math.round(j.results.train_micro8.stepMsMedian)} ms`,
        baseline: `${Math.round(j.results.baseline.stepMsMedian)} ms`,
        ratio: ratio(j.results.train_micro8.overVsBaseline, "overVsBaseline"),
      },
    ],
  },
  "webgpu-software.json": {
    script: "bench/webgpu.ts --allow-software",
    rows: (j) => [
      {
        measured: `config A training step tokens/s, webgpu on ${j.webgpu.adapter.device} (software) vs ${j.baseline.backend}`,
        ours: num(j.webgpu.configs.A.stepTokPerSec, "tok/s"),
        baseline: num(j.baseline.A.stepTokPerSec, "tok/s"),
        ratio: ratio(j.speedup.A, "speedup.A"),
      },
      {
        measured: "1024³ float32 matmul on the software adapter",
        ours: num(j.webgpu.matmulTflops1024 * 1000, "GFLOP/s"),
        baseline: NONE,
        ratio: NONE,
      },
    ],
  },
};

/** Both ring-netns files: the TCP ring's 64 MB bus bandwidth per collective vs raw duplex TCP between the hosts. */
function ringNetns(j: any): Row[] {
  const biggest = Math.max(...j.ring.map((r: any) => r.mb));
  // ring-netns.ts divides by the median of the before/after duplex samples, which of two is the larger.
  const rawDuplex = Math.max(...j.rawTcpGBps.duplex);
  return j.ring
    .filter((r: any) => r.mb === biggest)
    .map((r: any) => ({
      measured: `TCP ring ${ops[r.op] ?? r.op} ${r.mb} MB bus bandwidth, ${r.ranks} hosts (${j.link}) vs raw duplex TCP`,
      ours: num(r.busGBps, "GB/s"),
      baseline: num(rawDuplex, "GB/s"),
      ratio: ratio(j.ringVsRawDuplex[r.op], `ringVsRawDuplex.${r.op}`),
    }));
}

/** The CPU model string the file records, under whichever key its bench used. */
function machine(j: any): string {
  const model = j.machine?.model ?? j.cpuModel ?? j.cpu;
  return typeof model === "string" ? model : "not recorded";
}

const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

const dir = join(dirname(fileURLToPath(import.meta.url)), "results");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort();
const lines: string[] = [];
let rows = 0;
for (const file of files) {
  const j = JSON.parse(readFileSync(join(dir, file), "utf8"));
  const date = typeof j.date === "string" ? j.date.slice(0, 10) : "not recorded";
  const extractor = EXTRACTORS[file];
  const found: Row[] = extractor
    ? extractor.rows(j)
    : [{ measured: "no headline extractor", ours: NONE, baseline: NONE, ratio: NONE }];
  for (const r of found) {
    const script = extractor ? `\`${extractor.script}\`` : NONE;
    lines.push(
      `| \`${file}\` | ${script} | ${[r.measured, r.ours, r.baseline, r.ratio, machine(j), date].map(cell).join(" | ")} |`,
    );
    rows++;
  }
}

const out = `# Bench results

<!-- generated by bench/results-table.ts, do not edit -->

Generated by \`bench/results-table.ts\` from the JSON files in this folder — do not edit; rerun
\`pnpm tsx bench/results-table.ts\` after a bench rewrites its file. Each bench runs with
\`pnpm tsx <script>\` from the repository root (\`pnpm bench\` runs them all) and measures its baseline in
the same run. A ratio appears only where the JSON records one, followed by its key: its direction is
that key's (the bench script defines it). Machine: the CPU model string the file records.

| result file | bench | measured | ours | baseline (same run) | ratio (JSON key) | machine | date |
| --- | --- | --- | --- | --- | --- | --- | --- |
${lines.join("\n")}
`;
writeFileSync(join(dir, "README.md"), out);
process.stderr.write(`wrote ${join(dir, "README.md")}: ${rows} rows from ${files.length} files\n`);
