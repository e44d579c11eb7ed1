import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** What to run to get the addon, in one line (quoted by every "not available" error). */
export const NATIVE_INSTALL_HINT =
  "apt-get install libdnnl-dev, then rebuild: pnpm --filter @biomed-llama/native-backend build:native";

/** The addon is not built, or was built against a oneDNN that is no longer installed. */
export class NativeUnavailableError extends Error {
  /** Why, and what to run, without the "native backend unavailable" prefix (for log lines). */
  readonly reason: string;
  constructor(why: string) {
    super(`native backend unavailable: ${why}; ${NATIVE_INSTALL_HINT}`);
    this.name = "NativeUnavailableError";
    this.reason = `${why}; ${NATIVE_INSTALL_HINT}`;
  }
}

type F32 = Float32Array;
type Numeric = Float32Array | Int32Array | Uint8Array | Uint16Array;

/** The raw native surface (src/native/*.c). Bad arguments throw RangeError (code ERR_NATIVE_ARGUMENT). */
export interface NativeBinding {
  alloc(bytes: number, zero: boolean): ArrayBuffer;
  release(buffer: ArrayBuffer): void;
  /** Bytes held by live tensors, their count, the most held at once, freed blocks kept for reuse. */
  stats(): { bytes: number; blocks: number; peakBytes: number; cachedBytes: number };
  resetPeak(): void;
  /** Frees every cached block (the memory of disposed tensors kept for reuse). */
  emptyCache(): void;
  matmul(
    a: F32 | Uint16Array,
    b: F32 | Uint16Array,
    c: F32,
    batchA: number,
    batchB: number,
    M: number,
    N: number,
    K: number,
    transA: boolean,
    transB: boolean,
    bf16: boolean,
  ): void;
  toBf16(src: F32, dst: Uint16Array): void;
  fromBf16(src: Uint16Array, dst: F32): void;
  info(): { onednn: string; isa: string; threads: number };
  setThreads(n: number): void;
  binary(
    op: number,
    a: Numeric,
    b: Numeric,
    out: Numeric,
    outShape: number[],
    aStrides: number[],
    bStrides: number[],
  ): void;
  unary(op: number, x: F32, out: F32 | Uint8Array, alpha: number): void;
  cast(x: Numeric, out: Numeric): void;
  select(cond: Uint8Array, a: Numeric, b: Numeric, out: Numeric, condInner: number): void;
  fill(out: Numeric, value: number): void;
  reduce(op: number, x: Numeric, out: Numeric, outer: number, red: number, inner: number): void;
  argReduce(isMax: boolean, x: F32, out: Int32Array, outer: number, red: number, inner: number): void;
  softmax(x: F32, out: F32, rows: number, cols: number, log: boolean): void;
  copy(
    src: Numeric,
    dst: Numeric,
    shape: number[],
    srcStrides: number[],
    srcOffset: number,
    dstStrides: number[],
    dstOffset: number,
  ): void;
  gather(
    x: Numeric,
    indices: Int32Array,
    out: Numeric,
    outer: number,
    axisDim: number,
    inner: number,
  ): number;
  segmentSum(x: F32, ids: Int32Array, out: F32, inner: number): void;
  oneHot(indices: Int32Array, out: F32 | Int32Array, depth: number, on: number, off: number): void;
  crossEntropy(logits: F32, targets: Int32Array, weights: F32, lse: F32): number;
  crossEntropyGrad(logits: F32, targets: Int32Array, weights: F32, lse: F32, dy: number, out: F32): void;
  rmsNorm(x: F32, w: F32, out: F32, invRms: F32, eps: number): void;
  rmsNormGrad(dy: F32, x: F32, w: F32, invRms: F32, dx: F32, dw: F32): void;
  swiglu(gate: F32, up: F32, out: F32): void;
  swigluGrad(dy: F32, gate: F32, up: F32, dGate: F32, dUp: F32): void;
  maskedSoftmax(x: F32, mask: F32, out: F32, rows: number, scale: number): void;
  maskedSoftmaxGrad(dy: F32, probs: F32, dx: F32, n: number, scale: number): void;
  rope(x: F32, cos: F32, sin: F32, out: F32, T: number, inverse: boolean, heads: number): void;
  causalAttention(
    B: number,
    T: number,
    H: number,
    KV: number,
    d: number,
    scale: number,
    q: F32,
    k: F32,
    v: F32,
    out: F32,
    lse: F32,
  ): void;
  causalAttentionGrad(
    B: number,
    T: number,
    H: number,
    KV: number,
    d: number,
    scale: number,
    dout: F32,
    q: F32,
    k: F32,
    v: F32,
    out: F32,
    lse: F32,
    dq: F32,
    dk: F32,
    dv: F32,
  ): void;
  adamw(
    param: F32,
    grad: F32,
    expAvg: F32,
    expAvgSq: F32,
    mask: Uint8Array | null,
    decay: number,
    b1: number,
    oneMinusB1: number,
    b2: number,
    oneMinusB2: number,
    bc2Sqrt: number,
    negStepSize: number,
    eps: number,
  ): void;
}

/** build/Release/native_backend.node next to this package's dist/ (also right when running from src/). */
export function defaultNativePath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "build", "Release", "native_backend.node");
}

let cached: NativeBinding | null = null;
let failure: string | null = null;

/** Loads the addon once per process; `NativeUnavailableError` (one line, says how to build it) otherwise. */
export function loadNativeBinding(): NativeBinding {
  if (cached) return cached;
  if (failure) throw new NativeUnavailableError(failure);
  const path = defaultNativePath();
  if (!existsSync(path)) {
    failure = `native addon not built: ${path} does not exist`;
    throw new NativeUnavailableError(failure);
  }
  const mod = { exports: {} as NativeBinding };
  try {
    process.dlopen(mod, path);
  } catch (e) {
    failure = `cannot load ${path}: ${String((e as Error).message).split("\n")[0]}`;
    throw new NativeUnavailableError(failure);
  }
  cached = mod.exports;
  return cached;
}

/** The addon if it loads, else null and the reason (for `--backend auto`'s log line). */
export function tryLoadNativeBinding(): { binding: NativeBinding | null; reason: string | null } {
  try {
    return { binding: loadNativeBinding(), reason: null };
  } catch (e) {
    return { binding: null, reason: (e as NativeUnavailableError).reason ?? (e as Error).message };
  }
}
