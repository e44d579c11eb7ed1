// GPU bench: the webgpu backend (tfjs's WebGPU backend on Dawn, @biomed-llama/webgpu-backend) on the
// machine's GPU adapter — the adapter, f32 matmul TFLOP/s (1024³ and 4096³), and forward and train-step
// tokens/s (forward + backward, gradients read to host, AdamW on host as the trainer does, parameters
// uploaded) for configs A and B and the 1.1B TinyLlama shape (recompute on) — against our native CPU
// backend on the same machine's CPU, measured in the same run.
// Run on a machine with a GPU and its Vulkan driver (NVIDIA: the driver's nvidia_icd.json + libvulkan1):
//   pnpm build && pnpm tsx bench/webgpu.ts [--configs A,B,1.1B] [--iters 3] [--baseline-configs A,B]
// `--allow-software` runs it on a software adapter (llvmpipe) for a smoke test; such a run is written
// to bench/results/webgpu-software.json, never over a GPU's numbers.
// Writes bench/results/webgpu.json.
import { createRequire } from "node:module";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  describeBackend,
  LlamaForCausalLM,
  parameterCount,
  setBackend,
  trainingFlopsPerToken,
} from "../packages/llama-model/dist/index.js";
import { AdamW } from "../packages/optimizer/dist/index.js";
import { registerWebGpuBackend } from "../packages/webgpu-backend/dist/index.js";
import { arg, argv } from "./bench-args.js";
import { batchOf, CONFIGS } from "./llama-configs.js";
import { writeResult } from "./write-result.js";

const here = dirname(fileURLToPath(import.meta.url));
const tf = createRequire(join(here, "../packages/llama-model/package.json"))(
  "@tensorflow/tfjs",
) as typeof import("@tensorflow/tfjs");

const iters = Number(arg("iters", "3"));
const configNames = arg("configs", "A,B,1.1B").split(",").filter(Boolean);
const baselineConfigs = arg("baseline-configs", "A,B").split(",").filter(Boolean);
const allowSoftware = argv.includes("--allow-software");
for (const n of [...configNames, ...baselineConfigs])
  if (!CONFIGS[n])
    throw new Error(`--configs: unknown config "${n}" (known: ${Object.keys(CONFIGS).join(", ")})`);

/** f32 matmul TFLOP/s of an n³ product on the current backend, reading one value back per rep. */
async function matmulTflops(n: number, reps: number): Promise<number> {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const once = async () => {
    const c = tf.matMul(a, b);
    await tf.slice(c, [0, 0], [1, 1]).data();
    c.dispose();
  };
  await once();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await once();
  const s = (performance.now() - t0) / 1000 / reps;
  tf.dispose([a, b]);
  return (2 * n ** 3) / s / 1e12;
}

async function step(name: string, reps: number) {
  const { config, seq, batch } = CONFIGS[name];
  const big = parameterCount(config) > 5e8;
  const model = new LlamaForCausalLM(config, { seed: 0, recompute: big });
  const ids = batchOf(config.vocab_size, batch, seq, 1);
  const tokens = batch * seq;
  const adam = new AdamW({ lr: 1e-4, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
  const master = await model.stateDict();
  const trainStep = async () => {
    const { grads } = await model.lossAndGrads(ids, ids);
    const shards = [];
    for (const [key, g] of grads) {
      shards.push({ key, param: master.get(key) as Float32Array, grad: (await g.data()) as Float32Array });
      g.dispose();
    }
    adam.step(shards);
    for (const [key, p] of master) model.setParameter(key, p);
  };
  const timeIt = async (f: () => Promise<unknown>) => {
    await f(); // warm-up: shader compilation, buffer pools
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) await f();
    return (performance.now() - t0) / 1000 / reps;
  };
  const forwardSec = await timeIt(() => model.loss(ids, ids));
  const stepSec = await timeIt(trainStep);
  model.dispose();
  const flops = trainingFlopsPerToken(config, seq) * tokens;
  return {
    parameters: parameterCount(config),
    seq,
    batch,
    recompute: big,
    forwardTokPerSec: tokens / forwardSec,
    stepTokPerSec: tokens / stepSec,
    stepSec,
    achievedTflops: flops / stepSec / 1e12,
  };
}

const report = await registerWebGpuBackend({ allowSoftware }).catch((e: Error) => {
  // `pnpm bench` runs every bench: on a machine without a GPU this one has nothing to measure.
  if (e.name !== "NoGpuAdapterError") throw e;
  console.log(
    `bench/webgpu.ts: ${e.message}; nothing measured (--allow-software runs it on a software adapter)`,
  );
  process.exit(0);
});
await setBackend("webgpu");
const gpu: Record<string, unknown> = { backend: await describeBackend(), adapter: report };
gpu.matmulTflops1024 = await matmulTflops(1024, report.software ? 2 : 20);
if (!report.software) gpu.matmulTflops4096 = await matmulTflops(4096, 10);
console.log(JSON.stringify(gpu));
const configs: Record<string, unknown> = {};
for (const name of configNames) {
  await setBackend("webgpu");
  configs[name] = await step(name, iters);
  console.log(name, "webgpu", JSON.stringify(configs[name]));
}
// Baseline in the same run: the native CPU backend (else whatever `auto` finds without a GPU).
const baseline: Record<string, unknown> = {};
process.env.BIOMED_LLAMA_WEBGPU = "0";
const cpuBackend = await setBackend("native").catch(() => setBackend("auto"));
baseline.backend = await describeBackend();
for (const name of baselineConfigs) {
  await setBackend(cpuBackend as "native");
  baseline[name] = await step(name, iters);
  console.log(name, cpuBackend, JSON.stringify(baseline[name]));
}
const file = writeResult(report.software ? "webgpu-software" : "webgpu", {
  date: new Date().toISOString(),
  command: `pnpm tsx bench/webgpu.ts ${argv.join(" ")}`.trim(),
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  loadavg: loadavg(),
  webgpu: { ...gpu, configs },
  baseline,
  speedup: Object.fromEntries(
    baselineConfigs
      .filter((n) => configs[n])
      .map((n) => [
        n,
        (configs[n] as { stepTokPerSec: number }).stepTokPerSec /
          (baseline[n] as { stepTokPerSec: number }).stepTokPerSec,
      ]),
  ),
});
console.log(`wrote ${file}`);
