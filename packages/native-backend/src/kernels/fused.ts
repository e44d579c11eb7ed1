import * as tf from "@tensorflow/tfjs";
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
  /** inputs {x [..., H], weight [H]}, attrs {eps} → [x · rsqrt(mean(x²) + eps) · weight, invRms [rows]] */
  rmsNorm: "BiomedRmsNorm",
  /** inputs {dy, x, weight, invRms} → [dx, dweight] */
  rmsNormGrad: "BiomedRmsNormGrad",
  /** inputs {gate, up} → silu(gate) · up */
  swiglu: "BiomedSwiGLU",
  /** inputs {dy, gate, up} → [dgate, dup] */
  swigluGrad: "BiomedSwiGLUGrad",
  /** inputs {scores [..., R, Tk], mask [R, Tk]}, attrs {scale} → softmax(scores · scale + mask) over Tk */
  maskedSoftmax: "BiomedMaskedSoftmax",
  /** inputs {dy, probs}, attrs {scale} → scale · probs · (dy − Σ dy · probs) */
  maskedSoftmaxGrad: "BiomedMaskedSoftmaxGrad",
  /**
   * inputs {x [..., T, d] or, with attrs.heads = H, [..., T, H, d]; cos [T, d], sin [T, d]}, attrs {inverse, heads} →
   * x·cos + rotate_half(x)·sin (inverse: its transpose, the gradient)
   */
  rope: "BiomedRope",
  /**
   * inputs {q [B, T, H, d], k [B, T, KV, d], v [B, T, KV, d]} (token-major), attrs {scale} →
   * [causal softmax(scale·q kᵀ) v as [B, T, H, d], lse [B, H, T]]; query head h reads kv head h / (H / KV)
   */
  causalAttention: "BiomedCausalAttention",
  /** inputs {dy, q, k, v, out, lse}, attrs {scale} → [dq, dk, dv] */
  causalAttentionGrad: "BiomedCausalAttentionGrad",
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

export const rmsNorm: NativeKernel = ({ inputs, backend, attrs }) => {
  const { x, weight } = inputs as Record<string, tf.TensorInfo>;
  const H = weight.shape[0];
  const out = backend.output(x.shape);
  const inv = backend.output([tf.util.sizeFromShape(x.shape) / H]);
  backend.binding.rmsNorm(
    backend.f32(x),
    backend.f32(weight),
    out.values,
    inv.values,
    (attrs as { eps: number }).eps,
  );
  return [out.info, inv.info];
};

export const rmsNormGrad: NativeKernel = ({ inputs, backend }) => {
  const { dy, x, weight, invRms } = inputs as Record<string, tf.TensorInfo>;
  const dx = backend.output(x.shape);
  const dw = backend.output(weight.shape);
  backend.binding.rmsNormGrad(
    backend.f32(dy),
    backend.f32(x),
    backend.f32(weight),
    backend.f32(invRms),
    dx.values,
    dw.values,
  );
  return [dx.info, dw.info];
};

export const swiglu: NativeKernel = ({ inputs, backend }) => {
  const { gate, up } = inputs as Record<string, tf.TensorInfo>;
  const out = backend.output(gate.shape);
  backend.binding.swiglu(backend.f32(gate), backend.f32(up), out.values);
  return out.info;
};

export const swigluGrad: NativeKernel = ({ inputs, backend }) => {
  const { dy, gate, up } = inputs as Record<string, tf.TensorInfo>;
  const dg = backend.output(gate.shape);
  const du = backend.output(up.shape);
  backend.binding.swigluGrad(backend.f32(dy), backend.f32(gate), backend.f32(up), dg.values, du.values);
  return [dg.info, du.info];
};

export const maskedSoftmax: NativeKernel = ({ inputs, backend, attrs }) => {
  const { scores, mask } = inputs as Record<string, tf.TensorInfo>;
  const out = backend.output(scores.shape);
  backend.binding.maskedSoftmax(
    backend.f32(scores),
    backend.f32(mask),
    out.values,
    mask.shape[0],
    (attrs as { scale: number }).scale,
  );
  return out.info;
};

export const maskedSoftmaxGrad: NativeKernel = ({ inputs, backend, attrs }) => {
  const { dy, probs } = inputs as Record<string, tf.TensorInfo>;
  const out = backend.output(probs.shape);
  backend.binding.maskedSoftmaxGrad(
    backend.f32(dy),
    backend.f32(probs),
    out.values,
    probs.shape[probs.shape.length - 1],
    (attrs as { scale: number }).scale,
  );
  return out.info;
};

export const rope: NativeKernel = ({ inputs, backend, attrs }) => {
  const { x, cos, sin } = inputs as Record<string, tf.TensorInfo>;
  const out = backend.output(x.shape);
  backend.binding.rope(
    backend.f32(x),
    backend.f32(cos),
    backend.f32(sin),
    out.values,
    cos.shape[0],
    Boolean((attrs as { inverse?: boolean } | undefined)?.inverse),
    (attrs as { heads?: number } | undefined)?.heads ?? 1,
  );
  return out.info;
};
