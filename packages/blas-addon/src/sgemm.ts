import { type BlasLibraryInfo, loadBlasBinding, openblasCoretypeSet } from "./load-binding.js";

/** Element offsets and batching for `sgemm`; every field optional. */
export interface SgemmOptions {
  /** Element offsets of the first matrix in A, B, C (default 0). */
  aOffset?: number;
  bOffset?: number;
  cOffset?: number;
  /** Products to run (default 1); batch b uses the matrices at offset + b · stride. */
  batch?: number;
  /** Elements between consecutive batches' matrices; 0 shares one operand across the batch. */
  strideA?: number;
  strideB?: number;
  /** Default M · ldc (batches must not overlap in C). */
  strideC?: number;
}

/**
 * C = alpha · op(A) · op(B) + beta · C, row-major float32 (`cblas_sgemm`), computed in place on the
 * arrays' memory — no copies, so views over a wasm heap (ArrayBuffer or SharedArrayBuffer) work.
 * op(X) = Xᵀ when transX. A is M×K (stored K×M when transA), B is K×N (N×K when transB), C is M×N;
 * lda/ldb/ldc are the stored row lengths (≥ the stored column count). Runs synchronously on the
 * calling thread, using OpenBLAS's own thread pool (`setBlasThreads`). Bounds are checked against each
 * array's length: an out-of-range access throws RangeError (code ERR_BLAS_ARGUMENT) before BLAS runs.
 */
export function sgemm(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  lda: number,
  B: Float32Array,
  ldb: number,
  beta: number,
  C: Float32Array,
  ldc: number,
  opts: SgemmOptions = {},
): void {
  const batch = opts.batch ?? 1;
  loadBlasBinding().sgemm(
    transA,
    transB,
    M,
    N,
    K,
    alpha,
    A,
    opts.aOffset ?? 0,
    lda,
    opts.strideA ?? 0,
    B,
    opts.bOffset ?? 0,
    ldb,
    opts.strideB ?? 0,
    beta,
    C,
    opts.cOffset ?? 0,
    ldc,
    opts.strideC ?? M * ldc,
    batch,
  );
}

/** Threads OpenBLAS uses (its default: OPENBLAS_NUM_THREADS, else the cores). */
export function blasThreads(): number {
  return loadBlasBinding().getThreads();
}

/** Sets OpenBLAS's thread count for every later call in this process. */
export function setBlasThreads(n: number): void {
  loadBlasBinding().setThreads(n);
}

/** The library in one line for logs, e.g. "OpenBLAS 0.3.21 (Zen, pthread)", plus the raw fields. */
export function blasInfo(): BlasLibraryInfo & { name: string } {
  const info = loadBlasBinding().info();
  const name = /^OpenBLAS [^\s]+/.exec(info.config)?.[0] ?? "OpenBLAS";
  const how = openblasCoretypeSet() ? ", set from CPU flags" : "";
  return { ...info, name: `${name} (${info.core}${how}, ${info.parallel})` };
}
