import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { applyOpenblasCoretype } from "./coretype.js";

/** What to run to get the addon, in one line (quoted by every "not available" error). */
export const BLAS_INSTALL_HINT =
  "apt-get install libopenblas-dev, then rebuild: pnpm --filter @biomed-llama/blas-addon build:native";

/** The native addon is not built, or was built against an OpenBLAS that is no longer installed. */
export class BlasUnavailableError extends Error {
  constructor(reason: string) {
    super(`OpenBLAS addon unavailable (${reason}): ${BLAS_INSTALL_HINT}`);
    this.name = "BlasUnavailableError";
  }
}

/** What OpenBLAS says about itself, and which shared object `cblas_sgemm` came from. */
export interface BlasLibraryInfo {
  /** openblas_get_config(), e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64". */
  config: string;
  /** openblas_get_corename(): the kernel set picked for this CPU, e.g. "Zen", "Haswell". */
  core: string;
  /** openblas_get_parallel(): how its threads are made. */
  parallel: "pthread" | "openmp" | "none";
  /** Path of the shared library (dladdr of cblas_sgemm). */
  library: string;
}

/** The raw native surface (src/addon.c). Throws RangeError (code ERR_BLAS_ARGUMENT) on bad arguments. */
export interface BlasBinding {
  sgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    aOffset: number,
    lda: number,
    strideA: number,
    B: Float32Array,
    bOffset: number,
    ldb: number,
    strideB: number,
    beta: number,
    C: Float32Array,
    cOffset: number,
    ldc: number,
    strideC: number,
    batch: number,
  ): void;
  setThreads(n: number): void;
  getThreads(): number;
  info(): BlasLibraryInfo;
}

/** build/Release/blas_addon.node next to this package's dist/ (also right when running from src/). */
export function defaultNativePath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "build", "Release", "blas_addon.node");
}

let cached: { path: string; binding: BlasBinding } | null = null;
let coreSetByUs: string | null = null;

/** The OPENBLAS_CORETYPE this package set from the CPU's flags before loading OpenBLAS, or null. */
export function openblasCoretypeSet(): string | null {
  return coreSetByUs;
}

/** Loads the native addon once per process; `BlasUnavailableError` (one line, says how to build it) otherwise. */
export function loadBlasBinding(nativePath: string = defaultNativePath()): BlasBinding {
  if (cached) {
    if (cached.path !== nativePath)
      throw new Error(`the BLAS addon is already loaded from ${cached.path}; cannot load ${nativePath} too`);
    return cached.binding;
  }
  if (!existsSync(nativePath))
    throw new BlasUnavailableError(`native addon not built: ${nativePath} does not exist`);
  const mod = { exports: {} as BlasBinding };
  // Before OpenBLAS loads: it reads OPENBLAS_CORETYPE once, at load time.
  coreSetByUs = applyOpenblasCoretype();
  try {
    process.dlopen(mod, nativePath);
  } catch (e) {
    const first = String((e as Error).message).split("\n")[0];
    throw new BlasUnavailableError(`cannot load ${nativePath}: ${first}`);
  }
  cached = { path: nativePath, binding: mod.exports };
  return mod.exports;
}

/** True when the native addon file exists (it may still fail to load if OpenBLAS was uninstalled since). */
export function isBlasAddonBuilt(nativePath: string = defaultNativePath()): boolean {
  return existsSync(nativePath);
}
