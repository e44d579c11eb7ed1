// Full-size instruction mix: synthetic files with the seed's sample counts, in the upstream
// formats, then load → plan → 150,000 draws → JSONL, timed per phase. The draw loop is also
// timed against a baseline (linear CDF scan, the naive form of the same sampler) in the same run.
// Run: pnpm --filter @biomed-llama/instruct-mixer build && pnpm tsx bench/instruct-mixer-mix.ts
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  drawMixture,
  loadMixSources,
  planMixture,
  runMix,
  validateMixConfig,
  Xoshiro128StarStar,
} from "../packages/instruct-mixer/dist/index.js";

const DRAWS = 150_000;
const dir = mkdtempSync(join(tmpdir(), "instruct-mixer-bench-"));
const text = (i: number, n: number) => `item ${i} `.repeat(n);

function writeLines(file: string, n: number, make: (i: number) => object) {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(JSON.stringify(make(i)));
  writeFileSync(file, `${parts.join("\n")}\n`);
}

const t0 = performance.now();
writeLines(join(dir, "medqa.jsonl"), 10178, (i) => ({
  question: text(i, 40),
  answer: `opt C ${i}`,
  options: { A: `opt A ${i}`, B: `opt B ${i}`, C: `opt C ${i}`, D: `opt D ${i}` },
  answer_idx: "C",
}));
writeLines(join(dir, "medmcqa.json"), 182822, (i) => ({
  question: text(i, 6),
  exp: text(i, 10),
  cop: (i % 4) + 1,
  opa: `a${i}`,
  opb: `b${i}`,
  opc: `c${i}`,
  opd: `d${i}`,
  id: `id-${i}`,
}));
const pqa: Record<string, object> = {};
for (let i = 0; i < 211269; i++)
  pqa[String(10_000_000 + i)] = {
    QUESTION: text(i, 4),
    CONTEXTS: [text(i, 15), text(i, 15)],
    LABELS: ["BACKGROUND", "RESULTS"],
    final_decision: i % 3 ? "yes" : "no",
    LONG_ANSWER: text(i, 8),
  };
writeFileSync(join(dir, "ori_pqaa.json"), JSON.stringify(pqa));
const alpaca = (n: number) =>
  JSON.stringify(
    Array.from({ length: n }, (_, i) => ({
      instruction: text(i, 3),
      input: i % 2 ? "" : text(i, 5),
      output: text(i, 20),
    })),
  );
writeFileSync(join(dir, "alpaca.json"), alpaca(51760));
writeFileSync(join(dir, "vma.json"), alpaca(54412));
mkdirSync(join(dir, "out"));
const generateMs = performance.now() - t0;

const config = validateMixConfig(
  {
    sources: [
      { name: "usmleqa/train", adapter: "medqa", path: join(dir, "medqa.jsonl"), weight: 3 },
      { name: "medmcqa/train", adapter: "medmcqa", path: join(dir, "medmcqa.json"), weight: 0.2 },
      { name: "pubmedqa/train", adapter: "pubmedqa", path: join(dir, "ori_pqaa.json"), weight: 0.1 },
      { name: "AlpacaDataCleaned", adapter: "alpaca", path: join(dir, "alpaca.json"), weight: 0.5 },
      { name: "visual-med-alpaca", adapter: "alpaca", path: join(dir, "vma.json"), weight: 0.5 },
    ],
  },
  "bench",
);

// Phase 1: load (adapters on ~0.5 M records).
let t = performance.now();
const loaded = loadMixSources(config);
const loadMs = performance.now() - t;
const flat = loaded.flatMap((l) => l.strata);
const plan = planMixture(loaded.map((l) => ({ name: l.group, strata: l.strata.map((s) => s.spec) })));
const pools = flat.map((s) => s.records);

// Phase 2: draws only, binary-search CDF (the shipped sampler) vs a linear-scan baseline.
t = performance.now();
let sink = 0;
for (const d of drawMixture(plan, pools, { draws: DRAWS, seed: 1 })) sink += d.index;
const drawMs = performance.now() - t;
t = performance.now();
const rng = new Xoshiro128StarStar(1);
for (let i = 0; i < DRAWS; i++) {
  const u = rng.nextFloat();
  let k = 0;
  let acc = plan[0].target;
  while (acc <= u && k < plan.length - 1) acc += plan[++k].target;
  sink += rng.nextBelow(pools[k].length);
}
const baselineMs = performance.now() - t;

// Phase 3: the whole runMix (load again + draws + formatPrompt + JSON + atomic write).
t = performance.now();
const out = join(dir, "out", "mix.jsonl");
runMix(config, { out, draws: DRAWS, seed: 42 });
const runMixMs = performance.now() - t;
const outBytes = statSync(out).size;

const result = {
  bench: "instruct-mixer-mix",
  date: new Date().toISOString(),
  node: process.version,
  records: pools.reduce((a, p) => a + p.length, 0),
  draws: DRAWS,
  generateInputsMs: Math.round(generateMs),
  loadMs: Math.round(loadMs),
  drawOnly: {
    binarySearchMs: +drawMs.toFixed(1),
    linearScanBaselineMs: +baselineMs.toFixed(1),
    drawsPerSec: Math.round(DRAWS / (drawMs / 1000)),
  },
  runMixTotalMs: Math.round(runMixMs),
  outputMiB: +(outBytes / 2 ** 20).toFixed(1),
  peakRssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  sink: sink % 7,
};
console.log(JSON.stringify(result, null, 2));
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL("./results/instruct-mixer-mix.json", import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
rmSync(dir, { recursive: true, force: true });
