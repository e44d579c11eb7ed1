import * as tf from "@tensorflow/tfjs";
import { registerSegmentSum } from "./segment-sum.js";
import { installFastWasmMatMul } from "./wasm-matmul.js";

// Structural view of the wasm backend: only what the kernels below touch.
interface WasmBackendLike {
  readSync(dataId: unknown): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
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
  registerSegmentSum("wasm");
  if (tf.getKernel("OneHot", "wasm")) tf.unregisterKernel("OneHot", "wasm");
  tf.registerKernel({
    kernelName: "OneHot",
    backendName: "wasm",
    kernelFunc: oneHot as unknown as tf.KernelFunc,
  });
  // BIOMED_LLAMA_WASM_MATMUL=stock keeps tfjs's own kernel (for benchmarks and bisecting).
  if (process.env.BIOMED_LLAMA_WASM_MATMUL !== "stock") installFastWasmMatMul();
}
