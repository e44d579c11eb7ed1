import * as tf from "@tensorflow/tfjs";

// What both backends offer for reading inputs and making outputs (structural, no backend imports).
interface ReadableBackend {
  readSync(dataId: unknown): ArrayLike<number>;
}
interface WasmOutputs {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
}
interface CpuOutputs {
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap };

/** out[ids[i]] += x[i] over rows of `inner` values; ids outside [0, numSegments) are dropped. */
export function segmentSumLoop(
  xs: ArrayLike<number>,
  ids: ArrayLike<number>,
  inner: number,
  numSegments: number,
  out: Float32Array | Int32Array,
): void {
  out.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += xs[src + j];
  }
}

function operands(args: KernelArgs) {
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = args.attrs.numSegments as number;
  const rest = x.shape.slice(segmentIds.shape.length);
  const inner = rest.reduce((a, b) => a * b, 1);
  const backend = args.backend as ReadableBackend;
  return {
    x,
    xs: backend.readSync(x.dataId),
    ids: backend.readSync(segmentIds.dataId),
    inner,
    numSegments,
    shape: [numSegments, ...rest],
  };
}

/**
 * UnsortedSegmentSum is what the gradient of `gather` (the embedding lookup) runs. tfjs-backend-wasm
 * 4.22 has none; tfjs-backend-cpu's loops over the segments and, for each, masks and sums the whole
 * gradient: O(vocab × tokens × hidden) work and five temporaries per segment — with a 32000-token
 * vocabulary a small model's step took minutes and the process grew to 13 GB. Both are replaced by
 * one pass over the rows, O(tokens × hidden).
 */
function wasmSegmentSum(args: KernelArgs): tf.TensorInfo {
  const o = operands(args);
  const backend = args.backend as WasmOutputs;
  const out = backend.makeOutput(o.shape, o.x.dtype);
  segmentSumLoop(o.xs, o.ids, o.inner, o.numSegments, backend.typedArrayFromHeap(out));
  return out;
}

function cpuSegmentSum(args: KernelArgs): tf.TensorInfo {
  const o = operands(args);
  const values =
    o.x.dtype === "int32"
      ? new Int32Array(o.shape.reduce((a, b) => a * b, 1))
      : new Float32Array(o.shape.reduce((a, b) => a * b, 1));
  segmentSumLoop(o.xs, o.ids, o.inner, o.numSegments, values);
  return (args.backend as CpuOutputs).makeTensorInfo(o.shape, o.x.dtype, values);
}

const done = new Set<string>();

/** Replace UnsortedSegmentSum on "wasm" or "cpu" (idempotent). */
export function registerSegmentSum(backendName: "wasm" | "cpu"): void {
  if (done.has(backendName)) return;
  done.add(backendName);
  if (tf.getKernel("UnsortedSegmentSum", backendName)) tf.unregisterKernel("UnsortedSegmentSum", backendName);
  tf.registerKernel({
    kernelName: "UnsortedSegmentSum",
    backendName,
    kernelFunc: (backendName === "wasm" ? wasmSegmentSum : cpuSegmentSum) as unknown as tf.KernelFunc,
  });
}
