import * as tf from "@tensorflow/tfjs";
import { registerSegmentSum } from "./segment-sum.js";
import { blasMatMulStatus, installBlasMatMul } from "./wasm-blas.js";
import { registerWasmKernels } from "./wasm-kernels.js";
import { initThreadedWasm, requestedWasmThreads } from "./wasm-threads.js";

export type BackendName = "auto" | "tensorflow" | "wasm" | "cpu";

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

async function useTensorflow(): Promise<boolean> {
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    if ((await tryImport(pkg)) && tf.findBackend("tensorflow")) {
      if (await tf.setBackend("tensorflow")) return true;
    }
  }
  return false;
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
  if (name !== "wasm") return name;
  const threads = await wasmThreadCount();
  const blas = blasMatMulStatus();
  const base = `wasm (${threads} thread${threads === 1 ? "" : "s"})`;
  return blas.active
    ? `${base} + ${blas.library}, ${blas.threads} thread${blas.threads === 1 ? "" : "s"}`
    : base;
}

/**
 * Select the tfjs backend. "auto" prefers native TensorFlow (GPU, then CPU), then wasm, then the
 * pure-JS cpu backend. Returns the backend actually in use.
 */
export async function setBackend(name: BackendName = "auto"): Promise<string> {
  registerSegmentSum("cpu");
  let ok = false;
  if (name === "tensorflow") ok = await useTensorflow();
  else if (name === "wasm") ok = await useWasm();
  else if (name === "cpu") ok = await tf.setBackend("cpu");
  else if (name === "auto") ok = (await useTensorflow()) || (await useWasm()) || (await tf.setBackend("cpu"));
  else
    throw new BackendUnavailableError(`unknown backend "${name}" (expected auto, tensorflow, wasm or cpu)`);
  if (!ok)
    throw new BackendUnavailableError(
      name === "tensorflow"
        ? 'backend "tensorflow" needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node installed'
        : `backend "${name}" could not be initialised`,
    );
  await tf.ready();
  return tf.getBackend();
}
