import type * as tf from "@tensorflow/tfjs";
import type { NativeKernel } from "./util.js";

/**
 * Fused kernels this backend adds to tfjs's set, for model code that asks for them by name
 * (`tf.getKernel(name, tf.getBackend())`) and falls back to composite ops elsewhere. Each is checked
 * against the composite it replaces (test/fused.test.ts).
 */
export const FUSED_KERNELS = {
  /**
   * inputs {logits [N, V] float32, targets [N] int32, weights [N] float32} →
   * [loss (scalar) = Σ w·(logsumexp(logits) − logits[t]), lse [N]]
   */
  crossEntropy: "BiomedCrossEntropy",
  /** inputs {logits, targets, weights, lse, dy (scalar)} → (softmax(logits) − onehot(t)) · w · dy */
  crossEntropyGrad: "BiomedCrossEntropyGrad",
} as const;

export const crossEntropy: NativeKernel = ({ inputs, backend }) => {
  const { logits, targets, weights } = inputs as Record<string, tf.TensorInfo>;
  const [N] = logits.shape;
  const lse = backend.output([N]);
  const loss = backend.binding.crossEntropy(
    backend.f32(logits),
    backend.stored(targets) as Int32Array,
    backend.f32(weights),
    lse.values,
  );
  const out = backend.output([]);
  out.values[0] = loss;
  return [out.info, lse.info];
};

export const crossEntropyGrad: NativeKernel = ({ inputs, backend }) => {
  const { logits, targets, weights, lse, dy } = inputs as Record<string, tf.TensorInfo>;
  const out = backend.output(logits.shape);
  backend.binding.crossEntropyGrad(
    backend.f32(logits),
    backend.stored(targets) as Int32Array,
    backend.f32(weights),
    backend.f32(lse),
    backend.f32(dy)[0],
    out.values,
  );
  return out.info;
};
