// AdamW step throughput (elements/s) on 16M float32 parameters: @biomed-llama/optimizer (its native loop
// from @biomed-llama/native-backend where built, and its JavaScript loop, in the same run) against
// torch.optim.AdamW on CPU (foreach=False and True, 1 and all threads), measured in the same run via python3.
// Run: pnpm --filter @biomed-llama/optimizer build && pnpm tsx bench/optimizer-adamw.ts [--n 16777216] [--iters 5]
// Writes bench/results/optimizer.json.
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
// bench/ is not a workspace dependent of the package, so it loads the built entry by path.
import { AdamW, adamwKernel } from "../packages/optimizer/dist/index.js";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const n = arg("n", 16 * 1024 * 1024);
const iters = arg("iters", 5);

function measureOurs(): { secondsPerStep: number[]; elementsPerSecond: number } {
  const param = new Float32Array(n);
  const grad = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    param[i] = Math.sin(i) * 0.1;
    grad[i] = Math.cos(i * 0.7) * 0.01;
  }
  const opt = new AdamW({ betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
  opt.step([{ key: "w", param, grad }], 1e-4); // warm-up: JIT and state allocation
  const times: number[] = [];
  for (let k = 0; k < iters; k++) {
    const t0 = process.hrtime.bigint();
    opt.step([{ key: "w", param, grad }], 1e-4);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    process.stderr.write(
      `ours step ${k + 1}/${iters}: ${(n / (times[k] as number) / 1e6).toFixed(1)} M elem/s\n`,
    );
  }
  return { secondsPerStep: times, elementsPerSecond: n / median(times) };
}

const torchScript = `
import json, os, sys, time, torch
n, iters = int(sys.argv[1]), int(sys.argv[2])
out = {"torch": torch.__version__, "defaultThreads": torch.get_num_threads(), "runs": []}
default_threads = torch.get_num_threads()
for threads in sorted({1, default_threads, os.cpu_count() or 1}):
    torch.set_num_threads(threads)
    for foreach in (False, True):
        p = torch.nn.Parameter(torch.sin(torch.arange(n, dtype=torch.float32)) * 0.1)
        p.grad = torch.cos(torch.arange(n, dtype=torch.float32) * 0.7) * 0.01
        opt = torch.optim.AdamW([p], lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, foreach=foreach)
        opt.step()
        times = []
        for _ in range(iters):
            t0 = time.perf_counter(); opt.step(); times.append(time.perf_counter() - t0)
        times.sort()
        out["runs"].append({"foreach": foreach, "threads": threads, "secondsPerStep": times,
                            "elementsPerSecond": n / times[len(times) // 2]})
        print(f"torch foreach={foreach} threads={threads}: {n / times[len(times) // 2] / 1e6:.1f} M elem/s", file=sys.stderr)
        del opt, p
print(json.dumps(out))
`;

import { writeResult } from "./write-result.js";

function measureTorch(): unknown {
  try {
    const stdout = execFileSync("/usr/bin/python3", ["-c", torchScript, String(n), String(iters)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 20,
    });
    return JSON.parse(stdout);
  } catch (e) {
    return { error: `torch baseline unavailable: ${(e as Error).message.split("\n")[0]}` };
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

// The native loop is picked once per process, and OpenMP reads its thread count once: the JS loop and
// the native loop on one thread run in children of this script.
if (process.env.BIOMED_ADAMW_BENCH_CHILD === "1") {
  console.log(JSON.stringify(measureOurs()));
  process.exit(0);
}
function child(env: Record<string, string>): ReturnType<typeof measureOurs> {
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, process.argv[1] as string, ...process.argv.slice(2)],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...env, BIOMED_ADAMW_BENCH_CHILD: "1" },
    },
  );
  return JSON.parse(out.trim().split("\n").at(-1) as string);
}
const ours = { kernel: adamwKernel(), threads: cpus().length, ...measureOurs() };
const oursOneThread =
  ours.kernel === "native" ? { kernel: "native", threads: 1, ...child({ OMP_NUM_THREADS: "1" }) } : null;
const js = child({ BIOMED_LLAMA_NATIVE_ADAMW: "0" });
const torch = measureTorch();
const result = {
  bench: "optimizer-adamw",
  date: new Date().toISOString(),
  elements: n,
  iters,
  node: process.version,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  // The machine is shared; a high load average makes both sides slower and noisier.
  loadAverage1m: loadavg()[0],
  note: "single AdamW step on one flat float32 tensor, median of iters; ours: the optimizer as installed (native loop on every core, where built); oursOneThread: the native loop on one thread (compare with torch at threads 1); oursJs: its single-threaded JavaScript loop",
  ours,
  oursOneThread,
  oursJs: { kernel: "js", threads: 1, ...js },
  torch,
};
writeResult("optimizer", result);
console.log(JSON.stringify({ oursElementsPerSecond: ours.elementsPerSecond, torch }, null, 2));
