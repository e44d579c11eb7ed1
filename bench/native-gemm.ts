// GEMM throughput of the kernel libraries the native backend could stand on, same process, same shapes:
// oneDNN's matmul (what @biomed-llama/native-backend uses; f32 and bf16) against OpenBLAS's sgemm (Debian's
// 0.3.21 through @biomed-llama/blas-addon, on the kernels blas-addon picks for this CPU), at 1024³ and at
// the LLaMA shapes of bench/llama-step.ts (tokens × hidden × out).
// Run: pnpm build && pnpm tsx bench/native-gemm.ts [--reps 10] [--rounds 3]. Writes bench/results/native-gemm.json.
import { cpus, loadavg } from "node:os";
import { blasInfo, sgemm } from "../packages/blas-addon/dist/index.js";
import { loadNativeBinding } from "../packages/native-backend/dist/index.js";
import { writeResult } from "./write-result.js";

const argv = process.argv.slice(2);
const flag = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const reps = flag("reps", 10);
const native = loadNativeBinding();

// [M, N, K]: C[M, N] = A[M, K] · B[N, K]ᵀ (a Linear layer's forward), plus the square reference.
const SHAPES: [string, number, number, number][] = [
  ["square 1024", 1024, 1024, 1024],
  ["A: q/k/v/o proj (1024 tok, 256→256)", 1024, 256, 256],
  ["A: lm_head (1020 tok, 256→32000)", 1020, 32000, 256],
  ["B: gate/up proj (1024 tok, 512→1376)", 1024, 1376, 512],
  ["B: down proj (1024 tok, 1376→512)", 1024, 512, 1376],
  ["7B: gate proj (256 tok, 4096→11008)", 256, 11008, 4096],
];

function time(f: () => void): number {
  f();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) f();
  return (performance.now() - t0) / 1000 / reps;
}

function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.37 + seed) * 0.5;
  return a;
}

// One library at a time over every shape (best of --rounds): interleaving them would have one library's
// idle threads (OpenMP's and OpenBLAS's both spin a while after a call) compete with the other's on 2 cores.
const rounds = flag("rounds", 3);
const operands = SHAPES.map(([, M, N, K]) => ({
  A: filled(M * K, 1),
  B: filled(N * K, 2),
  C: new Float32Array(M * N),
}));
const LIBS: Record<string, (i: number) => void> = {
  onednnF32: (i) => {
    const [, M, N, K] = SHAPES[i];
    const { A, B, C } = operands[i];
    native.matmul(A, B, C, 1, 1, M, N, K, false, true, false);
  },
  onednnBf16: (i) => {
    const [, M, N, K] = SHAPES[i];
    const { A, B, C } = operands[i];
    native.matmul(A, B, C, 1, 1, M, N, K, false, true, true);
  },
  openblasF32: (i) => {
    const [, M, N, K] = SHAPES[i];
    const { A, B, C } = operands[i];
    sgemm(false, true, M, N, K, 1, A, K, B, K, 0, C, N);
  },
};
const best: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++)
  for (const [lib, f] of Object.entries(LIBS)) {
    best[lib] ??= SHAPES.map(() => 0);
    SHAPES.forEach(([, M, N, K], i) => {
      const g = (2 * M * N * K) / time(() => f(i)) / 1e9;
      best[lib][i] = Math.max(best[lib][i], g);
    });
  }
const rows = SHAPES.map(([label, M, N, K], i) => {
  const gflops = Object.fromEntries(Object.keys(LIBS).map((lib) => [lib, best[lib][i]]));
  process.stderr.write(
    `${label}: ${Object.entries(gflops)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(", ")} GFLOP/s\n`,
  );
  return { shape: label, M, N, K, gflops };
});

const file = writeResult("native-gemm", {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavgAtStart: loadavg() },
  onednn: native.info(),
  openblas: blasInfo().name,
  reps,
  rounds,
  rows,
});
process.stderr.write(`wrote ${file}\n`);
