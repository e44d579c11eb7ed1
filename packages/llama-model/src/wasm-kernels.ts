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

/**
 * tfjs-backend-wasm 4.22's Identity mallocs a new tensor and copies the data; autodiff runs it
 * hundreds of times per training step (708 calls, 0.36 s of a 5.7 s step on bench config B). Like the
 * cpu backend's, and like the wasm Reshape kernel already does, this one shares the buffer and bumps
 * its reference count: no tensor on the wasm heap is ever written in place (kernels write fresh
 * outputs, Variable.assign swaps buffers), so sharing is safe, and XNNPACK's cache, keyed by buffer
 * id, sees the same data under the same id.
 */
function identity(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  (args.backend as { incRef(dataId: unknown): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
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
  const stockIdentity = tf.getKernel("Identity", "wasm");
  if (stockIdentity) {
    tf.unregisterKernel("Identity", "wasm");
    tf.registerKernel({
      kernelName: "Identity",
      backendName: "wasm",
      // Strings do not live on the wasm heap: the stock kernel handles them.
      kernelFunc: ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap }) =>
        (args.inputs.x as tf.TensorInfo).dtype === "string"
          ? (stockIdentity.kernelFunc as unknown as (a: typeof args) => tf.TensorInfo)(args)
          : identity(args)) as unknown as tf.KernelFunc,
    });
  }
  // BIOMED_LLAMA_WASM_MATMUL=stock keeps tfjs's own kernel (for benchmarks and bisecting).
  if (process.env.BIOMED_LLAMA_WASM_MATMUL !== "stock") installFastWasmMatMul();
}
