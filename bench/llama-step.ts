// Forward and full training step (forward + backward + AdamW) throughput of @biomed-llama/llama-model
// on our native backend ("native": oneDNN, exact float32; "native-bf16": bfloat16 matmul inputs with
// float32 accumulation), on tfjs's wasm backend — with its matmuls on OpenBLAS ("wasm", when @biomed-llama/blas-addon is
// built) and on XNNPACK ("wasm-xnnpack", BLAS switched off in the same process) — and the cpu backend, against Debian's PyTorch (python3-torch, 2 threads) running the
// same LLaMA configs in the same run, plus each backend's own matmul GFLOP/s and the resulting MFU
// (achieved training FLOP/s ÷ that backend's 1024³ matmul FLOP/s; FLOPs = 6N + 12·L·H·Q·T per token).
// Run: pnpm --filter @biomed-llama/optimizer build && pnpm --filter @biomed-llama/llama-model build \
//        && pnpm tsx bench/llama-step.ts [--iters 3] [--rounds 1] [--cpu-iters 1] [--configs A,B] [--backends native,native-bf16,wasm,wasm-xnnpack,cpu] [--no-torch]
// Debian's OpenBLAS 0.3.21 does not know every CPU: torch (and the wasm backend's BLAS) run with the
// OPENBLAS_CORETYPE that blas-addon derives from the CPU flags (unless set by the user); the kernel set
// torch's BLAS reports is recorded (torch.openblasCore).
// Each wasm run also records the time spent inside the BatchMatMul kernel (matmul vs the rest of a step).
// Every tfjs run is its own process (as torch's is). Writes bench/results/llama-step.json. The machine
// is shared: load average is recorded with each result.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { applyOpenblasCoretype } from "../packages/blas-addon/dist/index.js";
// bench/ is not a workspace dependent of the packages, so it loads the built entries by path.
import {
  blasMatMulStatus,
  describeBackend,
  enableBlasMatMul,
  LlamaForCausalLM,
  matMulKernelSeconds,
  parameterCount,
  readTransient,
  setBackend,
  setMatmulPrecision,
  trainingFlopsPerToken,
  wasmThreadCount,
} from "../packages/llama-model/dist/index.js";
import { AdamW, adamwKernel } from "../packages/optimizer/dist/index.js";
import { batchOf, CONFIGS } from "./llama-configs.js";

const here = dirname(fileURLToPath(import.meta.url));
// The same tfjs instance the package uses (resolved from the package, not from bench/).
const tf = createRequire(join(here, "../packages/llama-model/package.json"))(
  "@tensorflow/tfjs",
) as typeof import("@tensorflow/tfjs");

const iters = Number(arg("iters", "3"));
const cpuIters = Number(arg("cpu-iters", "1"));
const configNames = arg("configs", "A,B").split(",");
const backends = arg("backends", "native,native-bf16,wasm,wasm-xnnpack,cpu").split(",");
// Before any OpenBLAS loads (ours or torch's, which inherits the environment).
const openblasCoretype = applyOpenblasCoretype() ?? process.env.OPENBLAS_CORETYPE ?? null;
// The cpu backend runs config B at well under 1 GFLOP/s (minutes per step): only A by default.
const cpuConfigs = arg("cpu-configs", "A").split(",");
const withTorch = !argv.includes("--no-torch");
const rounds = Number(arg("rounds", "1"));

function cpuFlags(): string[] {
  try {
    const line = /^flags\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "";
    return line.split(/\s+/).filter((f) => /^(avx|amx|fma|f16c)/.test(f));
  } catch {
    return [];
  }
}

/**
 * The backend's 1024³ float32 matmul, best of 10 timed calls after 3 warm-up calls (the first calls of a
 * shape pay for kernel setup: JIT, packing, fresh pages). One element of each product is read back (it
 * waits for an asynchronous backend): reading all 4 MB would time a fresh JavaScript array's page
 * faults and garbage collection too, which under-read native's matmul by half.
 */
function matmulGflops(): number {
  const n = 1024;
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  for (let i = 0; i < 3; i++) tf.matMul(a, b).dispose();
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    tf.tidy(() => tf.slice(c, [0, 0], [1, 1]).dataSync());
    best = Math.min(best, performance.now() - t0);
    c.dispose();
  }
  tf.dispose([a, b]);
  return (2 * n ** 3) / (best / 1000) / 1e9;
}

async function runTs(name: string, n: number) {
  const { config, seq, batch } = CONFIGS[name];
  const model = new LlamaForCausalLM(config, { seed: 0 });
  const ids = batchOf(config.vocab_size, batch, seq, 1);
  const tokens = batch * seq;
  const adam = new AdamW({ lr: 1e-4, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
  const master = await model.stateDict();
  const trainStep = async () => {
    const { loss, grads } = await model.lossAndGrads(ids, ids);
    // As the trainer reads them: in the backend's own memory where it allows (native), else a copy.
    const shards = await Promise.all(
      [...grads].map(async ([key, g]) => ({
        key,
        param: master.get(key) as Float32Array,
        grad: await readTransient(g),
      })),
    );
    adam.step(shards);
    tf.dispose([...grads.values()]);
    for (const [key, p] of master) model.setParameter(key, p);
    return loss;
  };
  // Seconds per call, and of those the seconds inside the wasm BatchMatMul kernel (0 on cpu, whose
  // kernel is not wrapped).
  const timeIt = async (f: () => Promise<unknown>, reps: number) => {
    await f(); // warm-up: kernel setup, XNNPACK packing, allocator growth
    const m0 = matMulKernelSeconds();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) await f();
    return { sec: (performance.now() - t0) / 1000 / reps, matmulSec: (matMulKernelSeconds() - m0) / reps };
  };
  const fwd = await timeIt(() => model.loss(ids, ids), n);
  const step = await timeIt(trainStep, n);
  model.dispose();
  return {
    tokens,
    forwardSec: fwd.sec,
    stepSec: step.sec,
    forwardTokPerSec: tokens / fwd.sec,
    stepTokPerSec: tokens / step.sec,
    // Split of a training step: the BatchMatMul kernel vs everything else (other kernels, autodiff
    // bookkeeping, AdamW in JS, parameter upload).
    stepMatmulSec: step.matmulSec,
    stepOtherSec: step.sec - step.matmulSec,
    forwardMatmulSec: fwd.matmulSec,
  };
}

const TORCH = String.raw`
import json, math, sys, time, re
import torch
torch.set_num_threads(2)
torch.manual_seed(0)
req = json.loads(sys.argv[1])
show = torch.__config__.show()
blas = re.findall(r"(?:BLAS_INFO|LAPACK_INFO|USE_MKLDNN|USE_OPENMP)=[^,\s]+", show) + [l.strip() for l in show.splitlines() if re.search(r"MKL-DNN|OpenMP \d", l)]
def gflops():
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.perf_counter()
    for _ in range(5): a @ b
    return 2 * n**3 / ((time.perf_counter() - t0) / 5) / 1e9
def rms(x, w, eps): return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))
def rot(x): h = x.shape[-1] // 2; return torch.cat((-x[..., h:], x[..., :h]), -1)
class Llama(torch.nn.Module):
    def __init__(s, c):
        super().__init__(); s.c = c; H, I, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
        P = lambda *shape: torch.nn.Parameter(torch.randn(*shape) * 0.02)
        s.emb, s.head, s.norm = P(V, H), P(V, H), torch.nn.Parameter(torch.ones(H))
        s.layers = torch.nn.ModuleList()
        for _ in range(c["num_hidden_layers"]):
            m = torch.nn.Module()
            for n, sh in [("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("o", (H, H)), ("g", (I, H)), ("u", (I, H)), ("d", (H, I))]: setattr(m, n, P(*sh))
            m.n1, m.n2 = torch.nn.Parameter(torch.ones(H)), torch.nn.Parameter(torch.ones(H))
            s.layers.append(m)
    def forward(s, ids, labels):
        c = s.c; B, T = ids.shape; NH = c["num_attention_heads"]; HD = c["hidden_size"] // NH; eps = c["rms_norm_eps"]
        inv = 1.0 / (10000 ** (torch.arange(0, HD, 2).float() / HD)); f = torch.arange(T).float()[:, None] * inv[None]
        e = torch.cat((f, f), -1); cos, sin = e.cos(), e.sin()
        mask = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)
        h = s.emb[ids]
        for m in s.layers:
            x = rms(h, m.n1, eps)
            q, k, v = [(x @ w.T).view(B, T, NH, HD).transpose(1, 2) for w in (m.q, m.k, m.v)]
            q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
            a = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(HD) + mask, -1) @ v
            h = h + a.transpose(1, 2).reshape(B, T, -1) @ m.o.T
            x = rms(h, m.n2, eps)
            h = h + (torch.nn.functional.silu(x @ m.g.T) * (x @ m.u.T)) @ m.d.T
        logits = rms(h, s.norm, eps) @ s.head.T
        return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1))
out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas, "matmulGflops": gflops(), "runs": {}}
# Which BLAS shared objects torch actually has mapped after a matmul (Debian's torch links the generic libblas.so.3).
try:
    import ctypes
    _ob = ctypes.CDLL("/usr/lib/x86_64-linux-gnu/libblas.so.3"); _ob.openblas_get_corename.restype = ctypes.c_char_p
    out["openblasCore"] = _ob.openblas_get_corename().decode()
except Exception as e:
    out["openblasCore"] = None
out["blasMapped"] = sorted({l.split()[-1] for l in open("/proc/self/maps") if re.search(r"blas|lapack", l.split()[-1] if len(l.split()) > 5 else "")})
for name, spec in req["configs"].items():
    model = Llama(spec["config"]); opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    ids = torch.randint(0, spec["config"]["vocab_size"], (spec["batch"], spec["seq"]))
    def fwd():
        with torch.no_grad(): model(ids, ids)
    def step():
        opt.zero_grad(set_to_none=True); model(ids, ids).backward(); opt.step()
    def timeit(f, n):
        f(); t0 = time.perf_counter()
        for _ in range(n): f()
        return (time.perf_counter() - t0) / n
    tokens = spec["batch"] * spec["seq"]; fs = timeit(fwd, req["iters"]); ss = timeit(step, req["iters"])
    out["runs"][name] = {"tokens": tokens, "forwardSec": fs, "stepSec": ss, "forwardTokPerSec": tokens / fs, "stepTokPerSec": tokens / ss}
print(json.dumps(out))
`;

import { arg, argv } from "./bench-args.js";
import { writeResult } from "./write-result.js";

function runTorch(names: string[]) {
  const req = { iters, configs: Object.fromEntries(names.map((n) => [n, CONFIGS[n]])) };
  const r = spawnSync("/usr/bin/python3", ["-c", TORCH, JSON.stringify(req)], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) return { error: (r.stderr || "python3-torch failed").trim().split("\n").slice(-1)[0] };
  return JSON.parse(r.stdout.trim().split("\n").slice(-1)[0]);
}

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, flags: cpuFlags(), loadavgAtStart: loadavg() },
  openblasCoretype,
  adamwKernel: adamwKernel(),
  configs: Object.fromEntries(
    configNames.map((n) => [
      n,
      {
        ...CONFIGS[n],
        parameters: parameterCount(CONFIGS[n].config),
        trainingFlopsPerToken: trainingFlopsPerToken(CONFIGS[n].config, CONFIGS[n].seq),
      },
    ]),
  ),
  tfjs: {} as Record<string, unknown>,
};

// The machine is shared and its load changes by the minute, so each config runs torch first and then
// every tfjs backend right after it (not all of torch up front): each ratio compares runs that saw
// about the same load. Each run records the load average at its end.
const torchRuns: Record<string, unknown> = {};
if (withTorch) {
  // Debian's torch uses the generic BLAS interface; which library answers is the alternatives' choice.
  const lib = spawnSync("readlink", ["-f", "/usr/lib/x86_64-linux-gnu/libblas.so.3"], { encoding: "utf8" });
  results.torch = { blasLibrary: lib.stdout.trim() || null, runs: torchRuns };
}

interface BackendEntry {
  backend: string;
  threads: number | null;
  blas: ReturnType<typeof blasMatMulStatus> | null;
  matmulGflops: number;
  runs: Record<string, unknown>;
}
const tfjsResults = results.tfjs as Record<string, BackendEntry>;

/**
 * Switch to a bench backend name ("native", "native-bf16", "wasm" = wasm + BLAS when built,
 * "wasm-xnnpack", "cpu").
 */
async function use(backend: string) {
  const base = backend === "wasm-xnnpack" ? "wasm" : backend === "native-bf16" ? "native" : backend;
  const used = await setBackend(base as "native" | "wasm" | "cpu");
  if (used === "wasm") enableBlasMatMul(backend !== "wasm-xnnpack");
  if (used === "native") setMatmulPrecision(backend === "native-bf16" ? "bf16" : "f32");
  const label =
    (used === "wasm" && backend === "wasm-xnnpack") || (used === "native" && backend === "native-bf16")
      ? backend
      : used;
  if (!tfjsResults[label]) {
    const described = await describeBackend();
    process.stderr.write(`${described}\n`);
    tfjsResults[label] = {
      backend: described,
      // wasm: the threaded SIMD build's XNNPACK pool size (1 = single-threaded build); null otherwise.
      threads: used === "wasm" ? await wasmThreadCount() : null,
      // BLAS matmul state: active (library, its threads) or why not.
      blas: used === "wasm" ? blasMatMulStatus() : null,
      matmulGflops: matmulGflops(),
      runs: {},
    };
  }
  return { used, label, entry: tfjsResults[label] };
}

// Each tfjs run is a process of its own (this script with --child BACKEND:CONFIG): backends share
// nothing (a wasm module's worker threads and heap, the native block cache), as in a user's job,
// which runs one. Measured in one process, native's config B step ran 5-10 % slower after wasm had.
const childSpec = arg("child", "");
if (childSpec) {
  const [backend, name] = childSpec.split(":");
  const { used, label, entry } = await use(backend);
  const r = await runTs(name, used === "cpu" ? cpuIters : iters);
  const { runs: _, ...meta } = entry;
  process.stdout.write(`${JSON.stringify({ used, label, meta, r })}\n`);
  process.exit(0);
}

function runChild(backend: string, name: string) {
  const c = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      ...argv.filter((a) => a !== "--child"),
      "--child",
      `${backend}:${name}`,
    ],
    { encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"] },
  );
  if (c.status !== 0)
    throw new Error(`llama-step: the ${backend} run of config ${name} failed (exit ${c.status})`);
  return JSON.parse(c.stdout.trim().split("\n").slice(-1)[0]) as {
    used: string;
    label: string;
    meta: Omit<BackendEntry, "runs">;
    r: Awaited<ReturnType<typeof runTs>>;
  };
}

// Each round runs torch then every backend for each config; with --rounds N > 1 every number kept is
// the best of its N rounds (the run least disturbed by other jobs), for torch and tfjs alike, and
// `rounds` lists each round's step rate and load so the spread is visible.
type Run = Record<string, unknown> & { stepTokPerSec: number; forwardTokPerSec: number };
const better = (a: Run | undefined, b: Run) => (!a || b.stepTokPerSec > a.stepTokPerSec ? b : a);
const roundLog = (r: Run) => ({
  stepTokPerSec: r.stepTokPerSec,
  forwardTokPerSec: r.forwardTokPerSec,
  loadavg: r.loadavg,
});
for (let round = 0; round < rounds; round++) {
  for (const name of configNames) {
    if (withTorch) {
      process.stderr.write(`round ${round + 1}/${rounds}: torch config ${name}...\n`);
      const t = runTorch([name]);
      const prev = torchRuns[name] as (Run & { rounds: unknown[] }) | undefined;
      if (t.error) torchRuns[name] = prev ?? { error: t.error };
      else {
        const { runs, ...meta } = t as { runs: Record<string, Run> } & Record<string, unknown>;
        Object.assign(results.torch as Record<string, unknown>, meta);
        const run: Run = { ...runs[name], matmulGflops: meta.matmulGflops, loadavg: loadavg() };
        torchRuns[name] = { ...better(prev, run), rounds: [...(prev?.rounds ?? []), roundLog(run)] };
      }
      process.stderr.write(`  ${JSON.stringify(torchRuns[name])}\n`);
    }
    for (const backend of backends) {
      if (backend === "cpu" && !cpuConfigs.includes(name)) {
        tfjsResults.cpu ??= { backend: "cpu", threads: null, blas: null, matmulGflops: 0, runs: {} };
        tfjsResults.cpu.runs[name] = {
          skipped: "cpu backend: too slow for this config on this machine (see --cpu-configs)",
        };
        continue;
      }
      if (backend === "cpu" && round > 0) continue; // minutes per step: one round
      process.stderr.write(`round ${round + 1}/${rounds}: ${backend} config ${name}...\n`);
      const { label, meta, r } = runChild(backend, name);
      tfjsResults[label] ??= { ...meta, runs: {} };
      const entry = tfjsResults[label];
      const flopsPerSec =
        r.stepTokPerSec *
        (results.configs as Record<string, { trainingFlopsPerToken: number }>)[name].trainingFlopsPerToken;
      const run: Run = {
        ...r,
        trainGflopsPerSec: flopsPerSec / 1e9,
        mfuVsOwnMatmul: flopsPerSec / 1e9 / entry.matmulGflops,
        // Training FLOPs are (almost all) matmul FLOPs: their rate over the time inside the kernel.
        stepMatmulGflopsPerSec:
          r.stepMatmulSec > 0 ? (r.stepSec * flopsPerSec) / r.stepMatmulSec / 1e9 : null,
        loadavg: loadavg(),
      };
      const prev = entry.runs[name] as (Run & { rounds: unknown[] }) | undefined;
      const best = better(prev, run);
      const base = torchRuns[name] as Run | undefined;
      entry.runs[name] = {
        ...best,
        stepVsTorch: base?.stepTokPerSec ? best.stepTokPerSec / base.stepTokPerSec : null,
        forwardVsTorch: base?.forwardTokPerSec ? best.forwardTokPerSec / base.forwardTokPerSec : null,
        rounds: [...(prev?.rounds ?? []), roundLog(run)],
      };
      process.stderr.write(`  ${JSON.stringify(run)}\n`);
    }
  }
}
// Ratios against torch's best, recomputed now that every round is in.
for (const entry of Object.values(tfjsResults))
  for (const [name, r] of Object.entries(entry.runs) as [string, Run][]) {
    const base = torchRuns[name] as Run | undefined;
    if (!r.stepTokPerSec || !base?.stepTokPerSec) continue;
    r.stepVsTorch = r.stepTokPerSec / base.stepTokPerSec;
    r.forwardVsTorch = r.forwardTokPerSec / base.forwardTokPerSec;
  }

// MFU against the best float32 GEMM measured on this machine in this run (1024³: torch's BLAS or any
// of our backends), so every engine is held to one yardstick.
const f32Gemms = [
  ...Object.entries(tfjsResults)
    .filter(([label]) => label !== "native-bf16")
    .map(([, e]) => e.matmulGflops),
  ...Object.values(torchRuns).map((r) => (r as { matmulGflops?: number }).matmulGflops ?? 0),
];
const bestF32 = Math.max(...f32Gemms);
results.bestF32MatmulGflops = bestF32;
for (const entry of Object.values(tfjsResults))
  for (const r of Object.values(entry.runs) as (Run & { trainGflopsPerSec?: number })[])
    if (r.trainGflopsPerSec) r.mfuVsBestF32Matmul = r.trainGflopsPerSec / bestF32;

const file = writeResult("llama-step", results);
process.stderr.write(`wrote ${file}\n`);
