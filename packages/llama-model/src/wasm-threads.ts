import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";

/*
 * Why this file exists: tfjs-backend-wasm 4.22 ships a threaded SIMD build
 * (tfjs-backend-wasm-threaded-simd.wasm) but never uses it in Node — its WASM_HAS_MULTITHREAD_SUPPORT
 * flag returns false whenever IS_NODE (tfjs issue #3830). The reason is the Emscripten glue's pthread
 * pool: tfjs hands it the worker script as a `blob:` URL (locateFile) and the main script as a Blob
 * (mainScriptUrlOrBlob), and Node's worker_threads can start neither (a Worker needs a file path or
 * an eval string; the worker's importScripts reads its argument with fs.readFileSync).
 *
 * The glue creates its workers with `new Worker(url)` on the global `Worker`, which it sets itself
 * (`globalThis.Worker = require("worker_threads").Worker`) just before building the pool. So, without
 * patching node_modules, we (1) turn the flag on, and (2) make the global `Worker` an accessor whose
 * getter always returns a subclass of worker_threads' Worker that swaps the two Blobs for real files:
 * the worker script (the package's own wasm-out/*.worker.js contents, written once to the temp dir)
 * and the package's untranspiled Emscripten main script wasm-out/tfjs-backend-wasm-threaded-simd.js.
 * Every worker is kept unref()'d (see FileBackedWorker.ref) so a process still exits on its own.
 *
 * One more trap: the C side caps the thread count at emscripten_num_logical_cores() / 2 (it assumes
 * two hyperthreads per core), read once when the module is instantiated; in Node that is
 * os.cpus().length, so a 2-core machine gets 1 thread whatever setThreadsCount says. For the duration
 * of the threaded init only, os.cpus() reports 2 × threads entries (restored in a finally).
 */

export const WASM_THREADS_ENV = "BIOMED_LLAMA_WASM_THREADS";

/** A malformed BIOMED_LLAMA_WASM_THREADS value. */
export class WasmThreadsEnvError extends Error {
  override name = "WasmThreadsEnvError";
}

/** Threads requested: BIOMED_LLAMA_WASM_THREADS if set (1 forces the single-threaded build), else the cores. */
export function requestedWasmThreads(): number {
  const raw = process.env[WASM_THREADS_ENV];
  if (raw === undefined || raw === "") return Math.max(1, os.availableParallelism());
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new WasmThreadsEnvError(`${WASM_THREADS_ENV}="${raw}": expected a whole number of threads ≥ 1`);
  return n;
}

interface WasmOutFiles {
  mainScript: string;
  workerScript: string;
}

let shimInstalled = false;

function wasmOutFiles(): WasmOutFiles {
  // Resolved from this package, not the caller (tsup's shims give the CJS build an import.meta.url).
  const here = createRequire(import.meta.url);
  const pkgJson = here.resolve("@tensorflow/tfjs-backend-wasm/package.json");
  const outDir = join(dirname(pkgJson), "wasm-out");
  const version = (here(pkgJson) as { version: string }).version;
  const { wasmWorkerContents } = here(join(outDir, "tfjs-backend-wasm-threaded-simd.worker.js")) as {
    wasmWorkerContents: string;
  };
  // The contents are a JS template literal in which "\n" inside a string became a real newline;
  // tfjs's own Blob path re-escapes it the same way.
  const source = wasmWorkerContents.replace(/\n/g, "\\n");
  const dir = join(os.tmpdir(), "biomed-llama-wasm");
  mkdirSync(dir, { recursive: true });
  // .cjs: the script uses require/__filename, whatever package.json sits above the temp dir.
  const workerScript = join(dir, `tfjs-backend-wasm-${version}-threaded-simd.worker.cjs`);
  const partial = `${workerScript}.${process.pid}.tmp`;
  writeFileSync(partial, source);
  renameSync(partial, workerScript);
  return { mainScript: join(outDir, "tfjs-backend-wasm-threaded-simd.js"), workerScript };
}

function installWorkerShim(files: WasmOutFiles): void {
  if (shimInstalled) return;
  const req = createRequire(files.mainScript);
  const { Worker: NodeWorker } = req("node:worker_threads") as typeof import("node:worker_threads");
  class FileBackedWorker extends NodeWorker {
    constructor(url: string | URL, options?: import("node:worker_threads").WorkerOptions) {
      const blob = String(url).startsWith("blob:");
      super(blob ? files.workerScript : url, options);
      if (blob) URL.revokeObjectURL(String(url));
      this.unref();
    }
    // The glue ref()s a worker while its pthread runs, and XNNPACK's pool threads run for the life
    // of the module, so a process would never exit. They only ever compute for a main thread that is
    // blocked waiting on them, so letting them hold the event loop open buys nothing.
    override ref(): void {}
    override postMessage(value: unknown, transfer?: readonly import("node:worker_threads").Transferable[]) {
      const msg = value as { cmd?: string; urlOrBlob?: unknown } | null;
      if (msg && msg.cmd === "load" && typeof msg.urlOrBlob !== "string")
        value = { ...msg, urlOrBlob: files.mainScript };
      super.postMessage(value, transfer);
    }
  }
  Object.defineProperty(globalThis, "Worker", {
    configurable: true,
    enumerable: false,
    get: () => FileBackedWorker,
    // The glue assigns worker_threads' Worker here; ours already is one.
    set: () => {},
  });
  shimInstalled = true;
}

/**
 * Initialise tfjs-backend-wasm (already imported) with its threaded SIMD build and `threads` threads,
 * by running `init` (which calls tf.setBackend("wasm")) with the flag, shim and core count in place.
 * Returns false, leaving the flag off so the next init picks the single-threaded SIMD build, when
 * that cannot work here (one thread requested, no SharedArrayBuffer, the wasm-out files missing) or
 * when `init` fails or throws.
 */
export async function initThreadedWasm(
  threads: number,
  setThreadsCount: (n: number) => void,
  init: () => Promise<boolean>,
): Promise<boolean> {
  if (threads < 2 || typeof SharedArrayBuffer !== "function") return false;
  let files: WasmOutFiles;
  try {
    files = wasmOutFiles();
  } catch {
    return false;
  }
  installWorkerShim(files);
  setThreadsCount(threads);
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  // The default import is the mutable CommonJS object the glue's require("os") also returns.
  const cpus = os.cpus;
  const fake = Array.from({ length: 2 * threads }, () => cpus()[0]);
  let ok = false;
  try {
    os.cpus = () => fake;
    ok = await init();
  } catch {
    ok = false;
  } finally {
    os.cpus = cpus;
  }
  if (!ok) {
    setThreadsCount(1);
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  }
  return ok;
}
