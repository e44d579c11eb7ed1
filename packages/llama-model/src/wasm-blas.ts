import type * as BlasAddon from "@biomed-llama/blas-addon";
import * as tf from "@tensorflow/tfjs";

/*
 * Why this file exists: on this 2-core machine XNNPACK (tfjs-backend-wasm, 2 threads) peaks at
 * ~34 GFLOP/s for a float32 matmul and OpenBLAS at ~65. Torch's whole training step runs at more
 * matmul FLOP/s than wasm's matmul peak, so the wasm backend cannot reach it on XNNPACK alone.
 * When the optional @biomed-llama/blas-addon is built, the wasm BatchMatMul kernel is wrapped to run
 * `cblas_sgemm` directly on the wasm heap: the addon takes a Float32Array over the module's memory (a
 * SharedArrayBuffer with threads) and element offsets of the input/output tensors, so nothing is
 * copied. Transposes are BLAS's own flags (no materialised transpose) and a batch is one strided call.
 * XNNPACK stays the fallback (non-float32, anything unexpected), and its packed-weight cache, keyed by
 * tensor id, is never touched: tensors this kernel reads are only read, and its output is a fresh one.
 */

export const BLAS_ENV = "BIOMED_LLAMA_BLAS";
export const BLAS_ADDON_PACKAGE = "@biomed-llama/blas-addon";

/** The parts of @biomed-llama/blas-addon used here: its own types (erased at run time; the package is optional). */
export type BlasAddonModule = Pick<typeof BlasAddon, "loadBlasBinding" | "blasInfo" | "blasThreads">;

type Sgemm = BlasAddon.BlasBinding["sgemm"];

/** Whether matmul on the wasm backend runs on BLAS, and if not, why. */
export interface BlasMatMulStatus {
  active: boolean;
  /** e.g. "OpenBLAS 0.3.21 (Zen, pthread)"; null when the addon is not loaded. */
  library: string | null;
  /** The shared object, e.g. /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0. */
  libraryPath: string | null;
  threads: number | null;
  /** Why it is not active: the env var, or the addon's one-line load error. */
  reason: string | null;
}

// Structural view of tfjs-backend-wasm 4.22's BackendWasm internals this kernel relies on.
interface WasmBackendInternals {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap };
type Kernel = (args: KernelArgs) => tf.TensorInfo;

let status: BlasMatMulStatus = {
  active: false,
  library: null,
  libraryPath: null,
  threads: null,
  reason: 'not initialised (setBackend("wasm") loads it)',
};
let enabled = true;
let calls = 0;
let kernelSeconds = 0;

/** BLAS matmul state of the wasm backend (see `setBackend("wasm")`). */
export function blasMatMulStatus(): BlasMatMulStatus {
  return { ...status, active: status.active && enabled };
}

/** Products run through BLAS so far in this process (tests check the kernel really ran). */
export function blasMatMulCalls(): number {
  return calls;
}

/**
 * Wall seconds spent inside the wasm BatchMatMul kernel so far (BLAS or XNNPACK alike, once this
 * kernel is installed): the bench splits a training step into matmul and everything else with it.
 * The kernels are synchronous, so this is their whole cost.
 */
export function matMulKernelSeconds(): number {
  return kernelSeconds;
}

/**
 * Switch BLAS matmul off (XNNPACK) or back on at run time, e.g. to compare both in one process.
 * Returns whether BLAS is now active (false when the addon never loaded).
 */
export function enableBlasMatMul(on: boolean): boolean {
  enabled = on;
  return blasMatMulStatus().active;
}

/** Index into a batch of shape `from` for flat index `i` of the broadcast shape `outer` (tfjs rules). */
function broadcastIndex(i: number, outer: number[], from: number[]): number {
  let idx = 0;
  let stride = 1;
  let rest = i;
  const shift = outer.length - from.length;
  const coords: number[] = new Array(outer.length);
  for (let d = outer.length - 1; d >= 0; d--) {
    coords[d] = rest % outer[d];
    rest = Math.floor(rest / outer[d]);
  }
  for (let d = from.length - 1; d >= 0; d--) {
    const c = from[d] === 1 ? 0 : coords[d + shift];
    idx += c * stride;
    stride *= from[d];
  }
  return idx;
}

/** A BatchMatMul kernel that runs cblas_sgemm on the wasm heap, falling back to `fallback`. */
export function blasBatchMatMul(sgemm: Sgemm, fallback: Kernel): Kernel {
  const kernel = blasOrFallback(sgemm, fallback);
  return (args) => {
    const t0 = performance.now();
    try {
      return kernel(args);
    } finally {
      kernelSeconds += (performance.now() - t0) / 1000;
    }
  };
}

function blasOrFallback(sgemm: Sgemm, fallback: Kernel): Kernel {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const backend = args.backend as WasmBackendInternals;
    if (!enabled || a.dtype !== "float32" || b.dtype !== "float32" || !backend.dataIdMap || !backend.wasm)
      return fallback(args);
    const ra = a.shape.length;
    const rb = b.shape.length;
    const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    const batchA = tf.util.sizeFromShape(outerA);
    const batchB = tf.util.sizeFromShape(outerB);
    const batch = tf.util.sizeFromShape(outer);
    const offA = backend.dataIdMap.get(a.dataId)?.memoryOffset;
    const offB = backend.dataIdMap.get(b.dataId)?.memoryOffset;
    if (offA == null || offB == null || offA % 4 !== 0 || offB % 4 !== 0) return fallback(args);

    const out = backend.makeOutput([...outer, M, N], "float32");
    if (batch * M * N === 0) return out;
    // Taken after makeOutput: its malloc may have grown the memory, and a view made before a grow
    // does not reach the new part.
    const heap = new Float32Array(backend.wasm.HEAPU8.buffer);
    const offC = (backend.dataIdMap.get(out.dataId)?.memoryOffset ?? 0) / 4;
    // BLAS wants leading dimensions ≥ 1 even for an empty side (K = 0).
    const lda = Math.max(1, a.shape[ra - 1]);
    const ldb = Math.max(1, b.shape[rb - 1]);
    const mk = M * K;
    const kn = K * N;
    const mn = M * N;
    calls++;
    // `n` products C = op(A)·op(B) from element offsets, each operand `s*` elements after the last.
    const gemm = (aAt: number, sa: number, bAt: number, sb: number, cAt: number, n: number) =>
      sgemm(
        transposeA,
        transposeB,
        M,
        N,
        K,
        1,
        heap,
        aAt,
        lda,
        sa,
        heap,
        bAt,
        ldb,
        sb,
        0,
        heap,
        cAt,
        N,
        mn,
        n,
      );
    if (batchA === 1 || batchB === 1 || (batchA === batch && batchB === batch)) {
      // One strided call: equal batches (rank-4 attention, [B, heads] on both sides), or one side
      // shared by every batch (x · Wᵀ with x [B, T, H]) at stride 0.
      gemm(offA / 4, batchA === 1 ? 0 : mk, offB / 4, batchB === 1 ? 0 : kn, offC, batch);
    } else {
      // General broadcasting ([2, 1, …] × [1, 3, …]): one product per output batch.
      for (let i = 0; i < batch; i++)
        gemm(
          offA / 4 + broadcastIndex(i, outer, outerA) * mk,
          0,
          offB / 4 + broadcastIndex(i, outer, outerB) * kn,
          0,
          offC + i * mn,
          1,
        );
    }
    return out;
  };
}

let installing: Promise<BlasMatMulStatus> | null = null;

/**
 * Load @biomed-llama/blas-addon (lazily; it is optional) and wrap the wasm BatchMatMul kernel with
 * the BLAS one. `BIOMED_LLAMA_BLAS=0` leaves XNNPACK. Never throws: a missing or unbuilt addon just
 * leaves XNNPACK, and `blasMatMulStatus().reason` says why. Idempotent.
 */
export function installBlasMatMul(specifier: string = BLAS_ADDON_PACKAGE): Promise<BlasMatMulStatus> {
  if (!installing) installing = install(specifier);
  return installing;
}

async function install(specifier: string): Promise<BlasMatMulStatus> {
  const env = process.env[BLAS_ENV];
  const off = (reason: string) => {
    status = { active: false, library: null, libraryPath: null, threads: null, reason };
    return blasMatMulStatus();
  };
  if (env === "0" || env === "false" || env === "off") return off(`disabled by ${BLAS_ENV}=${env}`);
  let mod: BlasAddonModule;
  let sgemm: Sgemm;
  const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split("\n")[0];
  try {
    // A variable specifier keeps bundlers from resolving the optional package at build time.
    mod = (await import(/* @vite-ignore */ specifier)) as BlasAddonModule;
  } catch (e) {
    return off(
      `${specifier} is not installed (${firstLine(e)}); for OpenBLAS matmul: apt-get install libopenblas-dev, then install ${specifier}`,
    );
  }
  try {
    // Not built / libopenblas missing: the addon's own one-line message says how to build it.
    const binding = mod.loadBlasBinding();
    sgemm = binding.sgemm.bind(binding);
  } catch (e) {
    return off(firstLine(e));
  }
  const mm = tf.getKernel("BatchMatMul", "wasm");
  if (!mm) return off("the wasm backend has no BatchMatMul kernel registered");
  const info = mod.blasInfo();
  const wrapped = blasBatchMatMul(sgemm, mm.kernelFunc as unknown as Kernel);
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({ ...mm, kernelFunc: wrapped as unknown as tf.KernelFunc });
  status = {
    active: true,
    library: info.name,
    libraryPath: info.library,
    threads: mod.blasThreads(),
    reason: null,
  };
  return blasMatMulStatus();
}
