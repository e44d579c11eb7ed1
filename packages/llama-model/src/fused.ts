import * as tf from "@tensorflow/tfjs";

/**
 * Fused kernels the model asks the current backend for by name: @biomed-llama/native-backend registers
 * them (its FUSED_KERNELS; test/fused.test.ts checks the two lists agree). Each op here runs the fused
 * kernel where the backend has it and the composite tfjs ops elsewhere, with the same semantics;
 * the fused forms read and write each activation once instead of once per elementwise op, and save
 * less for backward.
 */
export const FUSED = {
  crossEntropy: "BiomedCrossEntropy",
  crossEntropyGrad: "BiomedCrossEntropyGrad",
  rmsNorm: "BiomedRmsNorm",
  rmsNormGrad: "BiomedRmsNormGrad",
  swiglu: "BiomedSwiGLU",
  swigluGrad: "BiomedSwiGLUGrad",
  maskedSoftmax: "BiomedMaskedSoftmax",
  maskedSoftmaxGrad: "BiomedMaskedSoftmaxGrad",
  rope: "BiomedRope",
  causalAttention: "BiomedCausalAttention",
  causalAttentionGrad: "BiomedCausalAttentionGrad",
} as const;

let enabled = true;

/** Turn the fused kernels off (true: use them where the backend has them). For tests and A/B benches. */
export function setFusedKernels(on: boolean): void {
  enabled = on;
}

/** Whether the current backend runs `name` (and fused kernels are on). */
export function hasFused(name: string): boolean {
  return enabled && tf.getKernel(name, tf.getBackend()) !== undefined;
}

export function runFused(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs, attrs) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}

type Args = (tf.Tensor | tf.GradSaveFunc)[];

/** silu(gate) · up */
export function fusedSwiglu(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: Args) => {
    const [g, u] = args as tf.Tensor[];
    (args[2] as tf.GradSaveFunc)([g, u]);
    return {
      value: runFused(FUSED.swiglu, { gate: g, up: u })[0],
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        runFused(FUSED.swigluGrad, { dy: dy as tf.Tensor, gate: saved[0], up: saved[1] }),
    };
  });
  return f(gate, up);
}

/** x · rsqrt(mean(x²) + eps) · weight */
export function fusedRmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  const f = tf.customGrad((...args: Args) => {
    const [xx, w] = args as tf.Tensor[];
    const [out, invRms] = runFused(FUSED.rmsNorm, { x: xx, weight: w }, { eps });
    (args[2] as tf.GradSaveFunc)([xx, w, invRms]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        runFused(FUSED.rmsNormGrad, { dy: dy as tf.Tensor, x: saved[0], weight: saved[1], invRms: saved[2] }),
    };
  });
  return f(x, weight);
}

/**
 * x·cos + rotate_half(x)·sin; the tables are constants (no gradient). `heads` = 1: x is [..., T, d];
 * heads = H: x is token-major [..., T, H, d] (every head of a position rotated by that position's row).
 */
export function fusedRope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor, heads = 1): tf.Tensor {
  const f = tf.customGrad((...args: Args) => {
    const xx = args[0] as tf.Tensor;
    // Saved (kept) so backward still has them after the forward's tidy scopes end.
    (args[1] as tf.GradSaveFunc)([cos, sin]);
    return {
      value: runFused(FUSED.rope, { x: xx, cos, sin }, { inverse: false, heads })[0],
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        runFused(FUSED.rope, { x: dy as tf.Tensor, cos: saved[0], sin: saved[1] }, { inverse: true, heads }),
    };
  });
  return f(x);
}

/** softmax(scores · scale + mask) over the last axis; mask [R, Tk] repeats over the leading axes. */
export function fusedMaskedSoftmax(scores: tf.Tensor, mask: tf.Tensor, scale: number): tf.Tensor {
  const f = tf.customGrad((...args: Args) => {
    const s = args[0] as tf.Tensor;
    const probs = runFused(FUSED.maskedSoftmax, { scores: s, mask }, { scale })[0];
    (args[1] as tf.GradSaveFunc)([probs]);
    return {
      value: probs,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        runFused(FUSED.maskedSoftmaxGrad, { dy: dy as tf.Tensor, probs: saved[0] }, { scale }),
    };
  });
  return f(scores);
}

/**
 * Causal attention on token-major q [B, T, H, d], k / v [B, T, KV, d] → [B, T, H, d] (no key cache:
 * query t sees keys 0..t). The kernel never stores the [T, T] probabilities: backward recomputes them
 * from the saved log-sum-exp.
 */
export function fusedCausalAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number): tf.Tensor {
  const f = tf.customGrad((...args: Args) => {
    const [qq, kk, vv] = args as tf.Tensor[];
    const [out, lse] = runFused(FUSED.causalAttention, { q: qq, k: kk, v: vv }, { scale });
    (args[3] as tf.GradSaveFunc)([qq, kk, vv, out, lse]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sq, sk, sv, so, sl] = saved;
        return runFused(
          FUSED.causalAttentionGrad,
          { dy: dy as tf.Tensor, q: sq, k: sk, v: sv, out: so, lse: sl },
          { scale },
        );
      },
    };
  });
  return f(q, k, v);
}
