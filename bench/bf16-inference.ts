// Peak memory and wall time of evaluation and generation from BF16 checkpoints on the native backend, with
// the weights held as bfloat16 (`--weights bf16`, the CLIs' default: 2 bytes/parameter, widened inside each
// matmul) against the same checkpoint widened to float32 at load (`--weights f32`, 4 bytes/parameter) in the
// same run, through the built CLIs exactly as a user runs them:
//   (a) TinyLlama-1.1B's shape (22 layers, hidden 2048, intermediate 5632, 32 heads, 4 KV heads, vocab
//       32000): `biomed-llama init --dtype BF16`, `biomed-eval run --tasks medqa_4options --limit 20`
//       with bf16 and with f32 weights (their log-likelihoods compared), `biomed-llama generate
//       --max-new-tokens 8` both ways (tokens compared). Target: eval peak RSS ≤ 4 GiB with bf16.
//   (b) the llama-7b preset (6.74 B parameters, 13.5 GB in BF16): init, `biomed-eval run --limit 2` and
//       `generate --max-new-tokens 8` with bf16 weights. Target: peak RSS ≤ 16 GiB. Its float32 baseline
//       (27 GB of weights) does not fit this machine's memory and is not run; the JSON says so.
// Peak RSS is each child process's VmHWM (/proc/self/status), read by a preloaded hook as it exits; wall
// time is the parent's clock around the child (node start-up included). Checkpoints are written into a
// temp directory (--workdir, default the OS temp dir; its free space is checked first) and deleted after.
// Run: pnpm build && pnpm tsx bench/bf16-inference.ts [--only 1b|7b] [--workdir DIR] [--keep]
// Writes bench/results/bf16-inference.json.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parameterCount, presetConfig, resolveConfig } from "../packages/llama-model/dist/index.js";
import { arg, argv } from "./bench-args.js";
import { CONFIGS } from "./llama-configs.js";
import { writeResult } from "./write-result.js";

const here = dirname(fileURLToPath(import.meta.url));
const cliMain = join(here, "../apps/cli/dist/cli.js");
const evalMain = join(here, "../apps/eval/dist/cli.js");
const only = arg("only", "all");
const keep = argv.includes("--keep");
const GiB = 1024 ** 3;
const PROMPT = "Aspirin irreversibly inhibits";

// The same 1.1B shape as the other benches, written out with the fields HF's config.json has.
const TINYLLAMA = resolveConfig({
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  ...CONFIGS["1.1B"].config,
  rope_theta: 10000,
  tie_word_embeddings: false,
});

const work = mkdtempSync(join(arg("workdir", tmpdir()), "bf16-inference-"));
const hook = join(work, "vmhwm.mjs");
writeFileSync(
  hook,
  `import { readFileSync, writeFileSync } from "node:fs";
process.on("exit", () => {
  const s = readFileSync("/proc/self/status", "utf8");
  const kB = (k) => Number(new RegExp(k + ":\\\\s+(\\\\d+)").exec(s)?.[1] ?? 0);
  if (process.env.BENCH_VMHWM_FILE) writeFileSync(process.env.BENCH_VMHWM_FILE, JSON.stringify({ vmHWMkB: kB("VmHWM") }));
});
`,
);

interface Run {
  what: string;
  command: string;
  exitCode: number | null;
  wallSeconds: number;
  peakRssBytes: number;
  peakRssGiB: number;
  loadavgBefore: number[];
  loadavgAfter: number[];
  /** From the CLI's "loaded ... in X s: Y GB of weights" line. */
  loadSeconds?: number;
  weightBytes?: number;
}

let n = 0;
/** Runs a CLI in a child process, echoing its stderr (progress) live; its peak RSS, wall time, output. */
function measure(
  what: string,
  main: string,
  args: string[],
): Promise<Run & { stdout: string; stderr: string }> {
  const hwmFile = join(work, `hwm-${n++}.json`);
  const command = `${main.includes("apps/eval") ? "biomed-eval" : "biomed-llama"} ${args.join(" ")}`;
  process.stderr.write(`\n$ ${command}\n`);
  const loadavgBefore = loadavg();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", `file://${hook}`, main, ...args], {
      env: { ...process.env, BENCH_VMHWM_FILE: hwmFile },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
      process.stderr.write(d);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const wallSeconds = (performance.now() - t0) / 1000;
      let kB = 0;
      try {
        kB = JSON.parse(readFileSync(hwmFile, "utf8")).vmHWMkB;
      } catch {}
      const loaded = /loaded .* in ([\d.]+) s: ([\d.]+) GB of weights/.exec(stderr);
      const run = {
        what,
        command,
        exitCode: code,
        wallSeconds: round(wallSeconds, 1),
        peakRssBytes: kB * 1024,
        peakRssGiB: round((kB * 1024) / GiB, 3),
        loadavgBefore,
        loadavgAfter: loadavg(),
        ...(loaded
          ? { loadSeconds: Number(loaded[1]), weightBytes: Math.round(Number(loaded[2]) * 1e9) }
          : {}),
        stdout,
        stderr,
      };
      if (code !== 0) reject(new Error(`${command} exited with ${code}:\n${stderr.slice(-2000)}`));
      else resolve(run);
    });
  });
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
const strip = ({ stdout: _o, stderr: _e, ...r }: Run & { stdout: string; stderr: string }): Run => r;

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

function needDisk(bytes: number): void {
  const free = freeBytes(work);
  process.stderr.write(
    `${work}: ${(free / 1e9).toFixed(1)} GB free, ${(bytes / 1e9).toFixed(1)} GB needed\n`,
  );
  if (free < bytes)
    throw new Error(`${work}: ${(free / 1e9).toFixed(1)} GB free, need ${(bytes / 1e9).toFixed(1)} GB`);
}

/** Log-likelihoods of every option of every sample, in order. */
function optionScores(dir: string): number[] {
  return readFileSync(join(dir, "samples_medqa_4options.jsonl"), "utf8")
    .trim()
    .split("\n")
    .flatMap((l) => (JSON.parse(l).filtered_resps as [number, boolean][]).map(([ll]) => ll));
}

function evalArgs(model: string, limit: number, weights: string, out: string): string[] {
  return [
    "run",
    ...["--model", model, "--tasks", "medqa_4options", "--limit", String(limit)],
    ...[
      "--backend",
      "native",
      "--weights",
      weights,
      "--output",
      out,
      "--no-cache",
      "--log-samples",
      "--json",
    ],
  ];
}

function genArgs(model: string, weights: string): string[] {
  return [
    "generate",
    ...["--model", model, "--prompt", PROMPT, "--max-new-tokens", "8", "--backend", "native"],
    ...["--weights", weights, "--json"],
  ];
}

async function tinyllama() {
  const params = parameterCount(TINYLLAMA);
  needDisk(params * 2 * 1.1);
  const cfg = join(work, "tinyllama-config.json");
  writeFileSync(cfg, JSON.stringify(TINYLLAMA));
  const model = join(work, "tinyllama-1.1b-bf16");
  const init = await measure("init", cliMain, [
    ...["init", "--config", cfg, "--out", model, "--dtype", "BF16", "--seed", "0"],
  ]);
  const evals: Record<string, Run> = {};
  const results: Record<string, unknown> = {};
  const scores: Record<string, number[]> = {};
  for (const weights of ["bf16", "f32"]) {
    const out = join(work, `tinyllama-eval-${weights}`);
    const r = await measure(`eval --weights ${weights}`, evalMain, evalArgs(model, 20, weights, out));
    evals[weights] = strip(r);
    const res = JSON.parse(r.stdout);
    results[weights] = {
      ...res.results.medqa_4options,
      evaluationSeconds: Number(res.total_evaluation_time_seconds),
    };
    scores[weights] = optionScores(out);
  }
  const gens: Record<string, Run & { ids: number[]; tokensPerSecond: number }> = {};
  for (const weights of ["bf16", "f32"]) {
    const r = await measure(`generate --weights ${weights}`, cliMain, genArgs(model, weights));
    const j = JSON.parse(r.stdout);
    gens[weights] = { ...strip(r), ids: j.ids, tokensPerSecond: round(j.tokensPerSecond, 3) };
  }
  const maxAbsDiff = scores.bf16.reduce((m, x, i) => Math.max(m, Math.abs(x - scores.f32[i])), 0);
  const maxRelDiff = scores.bf16.reduce(
    (m, x, i) => Math.max(m, Math.abs(x - scores.f32[i]) / Math.max(Math.abs(scores.f32[i]), 1e-30)),
    0,
  );
  if (!keep) rmSync(model, { recursive: true, force: true });
  return {
    config: TINYLLAMA,
    parameters: params,
    checkpointBytes: params * 2,
    init: strip(init),
    eval: evals,
    evalResults: results,
    evalScoresCompared: {
      options: scores.bf16.length,
      maxAbsDiff,
      maxRelDiff,
      sameAccuracy: ["acc,none", "acc_norm,none"].every(
        (k) => (results.bf16 as Record<string, unknown>)[k] === (results.f32 as Record<string, unknown>)[k],
      ),
    },
    generate: gens,
    generateSameTokens: JSON.stringify(gens.bf16.ids) === JSON.stringify(gens.f32.ids),
    bytesPerParameter: {
      bf16: round((evals.bf16.weightBytes ?? 0) / params, 3),
      f32: round((evals.f32.weightBytes ?? 0) / params, 3),
    },
    target: "eval peak RSS <= 4 GiB with bf16 weights",
    targetMet: evals.bf16.peakRssBytes <= 4 * GiB,
  };
}

async function llama7b() {
  const config = presetConfig("llama-7b");
  const params = parameterCount(config);
  needDisk(params * 2 + 5e9);
  const model = join(work, "llama-7b-bf16");
  const init = await measure("init", cliMain, [
    "init",
    "--preset",
    "llama-7b",
    "--out",
    model,
    "--dtype",
    "BF16",
  ]);
  const out = join(work, "llama7b-eval-bf16");
  const ev = await measure("eval --weights bf16", evalMain, evalArgs(model, 2, "bf16", out));
  const res = JSON.parse(ev.stdout);
  const gen = await measure("generate --weights bf16", cliMain, genArgs(model, "bf16"));
  const g = JSON.parse(gen.stdout);
  if (!keep) rmSync(model, { recursive: true, force: true });
  const evalRun = strip(ev);
  const genRun = strip(gen);
  return {
    preset: "llama-7b",
    parameters: params,
    checkpointBytes: params * 2,
    init: strip(init),
    eval: { bf16: evalRun },
    evalResults: {
      bf16: { ...res.results.medqa_4options, evaluationSeconds: Number(res.total_evaluation_time_seconds) },
    },
    generate: { bf16: { ...genRun, ids: g.ids, tokensPerSecond: round(g.tokensPerSecond, 3) } },
    bytesPerParameter: { bf16: round((evalRun.weightBytes ?? 0) / params, 3) },
    f32Baseline: `not run: float32 weights are ${((params * 4) / 1e9).toFixed(1)} GB, more than this machine's ${(totalmem() / GiB).toFixed(1)} GiB of memory`,
    target: "eval and generate peak RSS <= 16 GiB",
    targetMet: evalRun.peakRssBytes <= 16 * GiB && genRun.peakRssBytes <= 16 * GiB,
  };
}

function cpuFlags(): string[] {
  try {
    const line = /^flags\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "";
    return line.split(/\s+/).filter((f) => /^(avx512f|avx512_bf16|amx|avx2|fma)/.test(f));
  } catch {
    return [];
  }
}

const started = new Date().toISOString();
const machine = {
  cpus: cpus().length,
  model: cpus()[0]?.model,
  flags: cpuFlags(),
  memoryGiB: round(totalmem() / GiB, 1),
  loadavgAtStart: loadavg(),
};
const out: Record<string, unknown> = {
  bench: "BF16 checkpoints for inference: weights held as bfloat16 (2 bytes/param) vs widened to float32 (4)",
  date: started,
  node: process.version,
  machine,
  method:
    "built CLIs in child processes, backend native; peak RSS = the child's VmHWM at exit; wall = parent's clock around the child",
};
try {
  if (only === "all" || only === "1b") out.tinyllama = await tinyllama();
  if (only === "all" || only === "7b") out.llama7b = await llama7b();
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
}
out.loadavgAtEnd = loadavg();
if (only !== "all") {
  // A partial run keeps the other part's last numbers.
  try {
    const prev = JSON.parse(readFileSync(join(here, "results", "bf16-inference.json"), "utf8"));
    for (const k of ["tinyllama", "llama7b"]) if (!(k in out) && k in prev) out[k] = prev[k];
  } catch {}
}
process.stderr.write(`\nwrote ${writeResult("bf16-inference", out)}\n`);
