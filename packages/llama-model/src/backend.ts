import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { setFusedKernelNames } from "./fused.js";
import { registerSegmentSum } from "./segment-sum.js";
import { setTensorLimitProbe } from "./tensor-limits.js";
import { blasMatMulStatus, installBlasMatMul } from "./wasm-blas.js";
import { registerWasmKernels } from "./wasm-kernels.js";
import { initThreadedWasm, requestedWasmThreads } from "./wasm-threads.js";

/** Every value `setBackend` (and each CLI's `--backend`) accepts; see `setBackend` for what `auto` tries. */
export const BACKEND_NAMES = ["auto", "native", "webgpu", "tensorflow", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Matmul precision: exact float32, or bfloat16 inputs with float32 accumulation (native backend only). */
export type MatmulPrecision = "f32" | "bf16";

export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
}

// The native bindings are optional peers: importing them by a computed name keeps bundlers and the
// type checker from requiring them, and a missing package is just "not available here".
async function tryImport(name: string): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ name);
    return true;
  } catch {
    return false;
  }
}

async function useTensorflow(
  pkgs: string[] = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"],
): Promise<boolean> {
  for (const pkg of pkgs) {
    if ((await tryImport(pkg)) && tf.findBackend("tensorflow")) {
      if (await tf.setBackend("tensorflow")) return true;
    }
  }
  return false;
}

type NativeModule = typeof import("@biomed-llama/native-backend");
let nativeModule: NativeModule | null = null;
/** Why the native backend is not in use, when `auto` or `native` could not load it. */
let nativeUnavailable: string | null = null;

async function useNative(): Promise<boolean> {
  if (process.env.BIOMED_LLAMA_NATIVE === "0") {
    nativeUnavailable = "turned off by BIOMED_LLAMA_NATIVE=0";
    return false;
  }
  try {
    nativeModule ??= (await import("@biomed-llama/native-backend")) as NativeModule;
    nativeModule.registerNativeBackend();
    setFusedKernelNames(nativeModule.FUSED_KERNELS);
  } catch (e) {
    const msg = (e as { reason?: string }).reason ?? (e as Error).message ?? String(e);
    nativeUnavailable = /Cannot find (module|package)/.test(msg)
      ? "@biomed-llama/native-backend is not installed"
      : msg.split("\n")[0];
    return false;
  }
  nativeUnavailable = null;
  return tf.setBackend("native");
}

function hasGpuDeviceNode(): boolean {
  const list = (dir: string) => {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  };
  return (
    list("/dev/dri").some((f) => f.startsWith("renderD")) || list("/dev").some((f) => /^nvidia\d+$/.test(f))
  );
}

type WebGpuModule = typeof import("@biomed-llama/webgpu-backend");
let webgpuModule: WebGpuModule | null = null;
/** The adapter line for logs, once the webgpu backend is registered. */
let webgpuAdapter: string | null = null;
/** Why `auto` did not use a GPU through WebGPU (only said when no GPU backend is in use). */
let webgpuUnavailable: string | null = null;

/**
 * WebGPU on Dawn. `auto` takes it only on a hardware adapter: a software one (llvmpipe, SwiftShader)
 * is far slower than the CPU backends and is used only when asked for by name.
 */
async function useWebgpu(allowSoftware: boolean): Promise<boolean> {
  if (process.env.BIOMED_LLAMA_WEBGPU === "0") {
    webgpuUnavailable = "turned off by BIOMED_LLAMA_WEBGPU=0";
    return false;
  }
  // On Linux a GPU the Vulkan driver can use has a device node; without one, `auto` does not start Dawn
  // (which would only find a software adapter, after printing its warnings).
  if (!allowSoftware && process.platform === "linux" && !hasGpuDeviceNode()) {
    webgpuUnavailable = "no GPU device (/dev/dri/renderD*, /dev/nvidia*)";
    return false;
  }
  try {
    webgpuModule ??= (await import(/* @vite-ignore */ "@biomed-llama/webgpu-backend")) as WebGpuModule;
    const report = await webgpuModule.registerWebGpuBackend({ allowSoftware });
    webgpuAdapter = webgpuModule.describeAdapter(report);
    setTensorLimitProbe(() =>
      tf.getBackend() === "webgpu"
        ? { bytes: report.maxStorageBufferBindingSize, what: "the webgpu adapter's storage binding limit" }
        : null,
    );
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    webgpuUnavailable = /Cannot find (module|package)/.test(msg)
      ? "@biomed-llama/webgpu-backend is not installed"
      : msg.split("\n")[0];
    return false;
  }
  webgpuUnavailable = null;
  return tf.setBackend("webgpu");
}

async function useWasm(): Promise<boolean> {
  let wasm: typeof import("@tensorflow/tfjs-backend-wasm");
  try {
    wasm = await import("@tensorflow/tfjs-backend-wasm");
    registerWasmKernels();
  } catch {
    return false;
  }
  // Optional OpenBLAS matmul on the wasm heap (never throws; XNNPACK when the addon is absent).
  await installBlasMatMul();
  // Already initialised (threaded or not): tfjs keeps the instance, so just switch to it.
  if (tf.engine().registry.wasm) return tf.setBackend("wasm");
  // Read before anything else: a malformed value is the caller's error, not "wasm unavailable".
  const threads = requestedWasmThreads();
  if (await initThreadedWasm(threads, wasm.setThreadsCount, () => tf.setBackend("wasm"))) return true;
  try {
    return await tf.setBackend("wasm");
  } catch {
    return false;
  }
}

/** Threads XNNPACK uses on the wasm backend (1 for the single-threaded build), or null before init. */
export async function wasmThreadCount(): Promise<number | null> {
  if (!tf.engine().registry.wasm) return null;
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  return wasm.getThreadsCount();
}

/**
 * The backend in use, for logs: e.g. "wasm (2 threads) + OpenBLAS 0.3.21 (Zen, pthread), 2 threads",
 * "wasm (1 thread)", "cpu", "tensorflow".
 */
export async function describeBackend(): Promise<string> {
  const name = tf.getBackend();
  const plural = (n: number | null) => `${n} thread${n === 1 ? "" : "s"}`;
  if (name === "native" && nativeModule) {
    const info = nativeModule.loadNativeBinding().info();
    const precision = nativeModule.nativeBackendInstance()?.matmulPrecision ?? "f32";
    return `native (oneDNN ${info.onednn}, ${info.isa}, ${plural(info.threads)}, matmul ${precision})`;
  }
  if (name === "webgpu") return `webgpu (${webgpuAdapter ?? "adapter unknown"})`;
  // Say why a CPU run is not on the native backend (auto fell back to it).
  const why = nativeUnavailable ? ` [native backend unavailable: ${nativeUnavailable}]` : "";
  if (name !== "wasm") return `${name}${why}`;
  const threads = await wasmThreadCount();
  const blas = blasMatMulStatus();
  const base = `wasm (${plural(threads)})`;
  return (blas.active ? `${base} + ${blas.library}, ${plural(blas.threads)}` : base) + why;
}

/**
 * Hands back memory the backend keeps for reuse: the native backend caches the blocks of disposed
 * tensors by exact size (up to 2 GB), which pays when shapes repeat but holds on to everything a
 * one-off phase (a model load, a forward of a new length) freed. No-op on other backends.
 */
export function releaseBackendMemory(): void {
  if (tf.getBackend() !== "native") return;
  (tf.backend() as { emptyCache?: () => void }).emptyCache?.();
}

/**
 * Matmul precision of the current backend: "f32" (exact, the default) or "bf16" — both operands
 * rounded to bfloat16, products accumulated in float32, as PyTorch's CPU autocast does; master
 * weights, gradients and optimizer state stay float32. Only the native backend offers "bf16".
 */
export function setMatmulPrecision(precision: MatmulPrecision): void {
  if (precision !== "f32" && precision !== "bf16")
    throw new BackendUnavailableError(`matmul precision must be f32 or bf16, got "${precision}"`);
  const backend = tf.getBackend() === "native" ? nativeModule?.nativeBackendInstance() : null;
  if (!backend) {
    if (precision === "f32") return;
    throw new BackendUnavailableError(
      `matmul precision bf16 needs the native backend (current backend: ${tf.getBackend()})`,
    );
  }
  backend.matmulPrecision = precision;
}

/**
 * Select the tfjs backend. "auto" prefers TensorFlow's GPU build (@tensorflow/tfjs-node-gpu, when a
 * user installed it), then WebGPU on a hardware GPU adapter, then our native CPU backend, then
 * TensorFlow's CPU build, then wasm, then the pure-JS cpu backend. "webgpu" also takes a software
 * adapter (llvmpipe: a correctness device). Returns the backend actually in use.
 */
export async function setBackend(name: BackendName = "auto"): Promise<string> {
  registerSegmentSum("cpu");
  let ok = false;
  if (name === "tensorflow") ok = await useTensorflow();
  else if (name === "native") ok = await useNative();
  else if (name === "webgpu") ok = await useWebgpu(true);
  else if (name === "wasm") ok = await useWasm();
  else if (name === "cpu") ok = await tf.setBackend("cpu");
  else if (name === "auto")
    ok =
      (await useTensorflow(["@tensorflow/tfjs-node-gpu"])) ||
      (await useWebgpu(false)) ||
      (await useNative()) ||
      (await useTensorflow(["@tensorflow/tfjs-node"])) ||
      (await useWasm()) ||
      (await tf.setBackend("cpu"));
  else
    throw new BackendUnavailableError(
      `unknown backend "${name}" (expected ${BACKEND_NAMES.slice(0, -1).join(", ")} or cpu)`,
    );
  if (!ok)
    throw new BackendUnavailableError(
      name === "tensorflow"
        ? 'backend "tensorflow" needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node installed'
        : name === "native" && nativeUnavailable
          ? `backend "native": ${nativeUnavailable}`
          : name === "webgpu" && webgpuUnavailable
            ? `backend "webgpu": ${webgpuUnavailable}`
            : `backend "${name}" could not be initialised`,
    );
  await tf.ready();
  return tf.getBackend();
}
