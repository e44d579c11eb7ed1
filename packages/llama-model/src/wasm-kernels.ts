import * as tf from "@tensorflow/tfjs";
import { installFastWasmMatMul } from "./wasm-matmul.js";

// Structural view of the wasm backend: only what the kernels below touch.
interface WasmBackendLike {
  readSync(dataId: unknown): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
}

/**
 * tfjs-backend-wasm 4.22 has no UnsortedSegmentSum, which the gradient of `gather` (the embedding
 * lookup) needs. A plain loop over the operands is enough: it runs once per step on [tokens, hidden].
 */
function unsortedSegmentSum(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = args.attrs.numSegments as number;
  const backend = args.backend as WasmBackendLike;
  const n = segmentIds.shape.reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
  const xs = backend.readSync(x.dataId);
  const ids = backend.readSync(segmentIds.dataId);
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = backend.makeOutput(outShape, x.dtype);
  const o = backend.typedArrayFromHeap(out);
  o.fill(0);
  for (let i = 0; i < n; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xs[src + j];
  }
  return out;
}

/**
 * tfjs-backend-wasm 4.22's OneHot ignores the dtype attribute and always writes int32 bits, so
 * `oneHot(..., "float32")` reads back as 1.4e-45 instead of 1. Replaced by a loop that honours it.
 */
function oneHot(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { indices } = args.inputs as { indices: tf.TensorInfo };
  const { depth, onValue, offValue, dtype } = args.attrs as {
    depth: number;
    onValue: number;
    offValue: number;
    dtype: tf.DataType;
  };
  const backend = args.backend as WasmBackendLike;
  const idx = backend.readSync(indices.dataId);
  const out = backend.makeOutput([...indices.shape, depth], dtype);
  const o = backend.typedArrayFromHeap(out);
  o.fill(offValue);
  for (let i = 0; i < idx.length; i++) {
    const j = idx[i];
    if (j >= 0 && j < depth) o[i * depth + j] = onValue;
  }
  return out;
}

let registered = false;

/** Register the kernels the wasm backend lacks or gets wrong. Idempotent; called by `setBackend("wasm")`. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  if (!tf.getKernel("UnsortedSegmentSum", "wasm"))
    tf.registerKernel({
      kernelName: "UnsortedSegmentSum",
      backendName: "wasm",
      kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
    });
  if (tf.getKernel("OneHot", "wasm")) tf.unregisterKernel("OneHot", "wasm");
  tf.registerKernel({
    kernelName: "OneHot",
    backendName: "wasm",
    kernelFunc: oneHot as unknown as tf.KernelFunc,
  });
  // BIOMED_LLAMA_WASM_MATMUL=stock keeps tfjs's own kernel (for benchmarks and bisecting).
  if (process.env.BIOMED_LLAMA_WASM_MATMUL !== "stock") installFastWasmMatMul();
}
