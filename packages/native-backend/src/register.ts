import * as tf from "@tensorflow/tfjs";
import { NativeBackend } from "./backend.js";
import { causalAttention, causalAttentionGrad } from "./kernels/attention.js";
import {
  addN,
  binaryKernel,
  binaryKernels,
  cast,
  fill,
  onesLike,
  select,
  unaryKernel,
  unaryKernels,
  zerosLike,
} from "./kernels/elementwise.js";
import {
  crossEntropy,
  crossEntropyGrad,
  FUSED_KERNELS,
  maskedSoftmax,
  maskedSoftmaxGrad,
  rmsNorm,
  rmsNormGrad,
  rope,
  swiglu,
  swigluGrad,
} from "./kernels/fused.js";
import {
  concat,
  gatherV2,
  oneHot,
  padV2,
  slice,
  splitV,
  tile,
  transpose,
  unsortedSegmentSum,
} from "./kernels/layout.js";
import { batchMatMul } from "./kernels/matmul.js";
import { argKernel, reduceKernel, reduceKernels, softmax } from "./kernels/reduce.js";
import type { NativeKernel } from "./kernels/util.js";
import { loadNativeBinding } from "./load-binding.js";

/** The tfjs backend name this package registers. */
export const NATIVE_BACKEND = "native";

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: NativeBackend; attrs: tf.NamedAttrMap };

/** Our kernels by tfjs kernel name. */
function nativeKernels(): Map<string, NativeKernel> {
  const k = new Map<string, NativeKernel>([
    ["BatchMatMul", batchMatMul],
    ["Cast", cast],
    ["Select", select],
    ["Fill", fill],
    ["ZerosLike", zerosLike],
    ["OnesLike", onesLike],
    ["AddN", addN],
    ["ArgMax", argKernel(true)],
    ["ArgMin", argKernel(false)],
    ["Softmax", softmax],
    ["Transpose", transpose],
    ["Slice", slice],
    ["SplitV", splitV],
    ["Concat", concat],
    ["PadV2", padV2],
    ["Tile", tile],
    ["GatherV2", gatherV2],
    ["UnsortedSegmentSum", unsortedSegmentSum],
    ["OneHot", oneHot],
  ]);
  for (const name of binaryKernels) k.set(name, binaryKernel(name));
  for (const name of unaryKernels) k.set(name, unaryKernel(name));
  for (const name of reduceKernels) k.set(name, reduceKernel(name));
  return k;
}

/**
 * cpu kernels that only hand out the input's data under a new shape (a reference, never a read): a
 * bfloat16-held input stays held, unwidened.
 */
const SHARES_INPUT = new Set(["Identity", "Reshape"]);

/**
 * A cpu-backend kernel run on native data: bfloat16-held inputs become float32 temporaries first
 * (except for the kernels of SHARES_INPUT), and an output that is a view into an input's native memory
 * (the cpu Slice returns subarrays) is copied, since native memory is freed when its tensor is disposed.
 */
function guarded(
  name: string,
  fallback: tf.KernelFunc,
): (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[] {
  const widen = !SHARES_INPUT.has(name);
  return (args) => {
    const { backend } = args;
    const temps: tf.TensorInfo[] = [];
    let inputs = args.inputs;
    for (const [key, t] of widen ? Object.entries(args.inputs) : []) {
      if (t && backend.isBf16(t.dataId)) {
        const wide = backend.makeTensorInfo(t.shape, "float32", backend.f32(t));
        temps.push(wide);
        inputs = (Array.isArray(inputs) ? [...inputs] : { ...inputs }) as tf.NamedTensorInfoMap;
        (inputs as Record<string, tf.TensorInfo>)[key] = wide;
      }
    }
    const result = fallback({ ...args, inputs } as never) as tf.TensorInfo | tf.TensorInfo[];
    for (const t of temps) backend.disposeData(t.dataId);
    const inputIds = new Set(Object.values(inputs).map((t) => t?.dataId));
    for (const out of Array.isArray(result) ? result : [result]) {
      if (inputIds.has(out.dataId)) continue;
      const values = backend.stored(out);
      if (backend.isNative(values)) {
        const copy = backend.allocArray(out.dtype, values.length);
        copy.set(values);
        (backend.data.get(out.dataId) as { values: unknown }).values = copy;
      }
    }
    return result;
  };
}

let registered: NativeBackend | null = null;

/**
 * Registers the "native" tfjs backend (idempotent): every kernel of the cpu backend, guarded, then ours
 * over the ones we implement (each of ours may still hand an unusual case to the cpu kernel).
 * Throws NativeUnavailableError when the addon is not built.
 */
export function registerNativeBackend(priority = 3): void {
  if (tf.findBackendFactory(NATIVE_BACKEND)) return;
  const binding = loadNativeBinding();
  tf.registerBackend(
    NATIVE_BACKEND,
    () => {
      registered = new NativeBackend(binding);
      return registered;
    },
    priority,
  );
  const ours = nativeKernels();
  for (const config of tf.getKernelsForBackend("cpu")) {
    const fallback = guarded(config.kernelName, config.kernelFunc);
    const mine = ours.get(config.kernelName);
    const kernelFunc = mine ? (args: KernelArgs) => mine(args) ?? fallback(args) : fallback;
    tf.registerKernel({
      ...config,
      backendName: NATIVE_BACKEND,
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    });
  }
  // Kernels tfjs does not have (no cpu fallback): asked for by name by model code.
  const fused: [string, NativeKernel][] = [
    [FUSED_KERNELS.crossEntropy, crossEntropy],
    [FUSED_KERNELS.crossEntropyGrad, crossEntropyGrad],
    [FUSED_KERNELS.rmsNorm, rmsNorm],
    [FUSED_KERNELS.rmsNormGrad, rmsNormGrad],
    [FUSED_KERNELS.swiglu, swiglu],
    [FUSED_KERNELS.swigluGrad, swigluGrad],
    [FUSED_KERNELS.maskedSoftmax, maskedSoftmax],
    [FUSED_KERNELS.maskedSoftmaxGrad, maskedSoftmaxGrad],
    [FUSED_KERNELS.rope, rope],
    [FUSED_KERNELS.causalAttention, causalAttention],
    [FUSED_KERNELS.causalAttentionGrad, causalAttentionGrad],
  ];
  for (const [kernelName, k] of fused)
    tf.registerKernel({
      kernelName,
      backendName: NATIVE_BACKEND,
      kernelFunc: ((args: KernelArgs) => k(args) as tf.TensorInfo) as unknown as tf.KernelFunc,
    });
}

/** The backend instance once tfjs has created it (after `tf.setBackend("native")`), else null. */
export function nativeBackendInstance(): NativeBackend | null {
  return registered;
}
