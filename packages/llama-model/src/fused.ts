import * as tf from "@tensorflow/tfjs";

/**
 * Fused kernels the model asks the current backend for: @biomed-llama/native-backend registers them
 * under the names of its FUSED_KERNELS, which the model learns when it selects that backend
 * (`setBackend`); the op keys are that object's keys, checked by the type checker. Each op here runs
 * the fused kernel where the backend has it and the composite tfjs ops elsewhere, with the same
 * semantics; the fused forms read and write each activation once instead of once per elementwise op,
 * and save less for backward.
 */
export type FusedOp = keyof FusedKernelNames;
type FusedKernelNames = typeof import("@biomed-llama/native-backend")["FUSED_KERNELS"];

let kernelNames: Readonly<FusedKernelNames> | null = null;

/** The backend's kernel names (backend.ts, once the native backend is registered). */
export function setFusedKernelNames(names: Readonly<FusedKernelNames>): void {
  kernelNames = names;
}

let enabled = true;

/** Turn the fused kernels off (true: use them where the backend has them). For tests and A/B benches. */
export function setFusedKernels(on: boolean): void {
  enabled = on;
}

/** Whether the current backend runs fused `op` (and fused kernels are on). */
export function hasFused(op: FusedOp): boolean {
  const name = kernelNames?.[op];
  return enabled && name !== undefined && tf.getKernel(name, tf.getBackend()) !== undefined;
}

export function runFused(op: FusedOp, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor[] {
  const name = kernelNames?.[op];
  if (name === undefined) throw new Error(`fused ${op}: no backend with fused kernels is registered`);
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
      value: runFused("swiglu", { gate: g, up: u })[0],
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        runFused("swigluGrad", { dy: dy as tf.Tensor, gate: saved[0], up: saved[1] }),
    };
  });
  return f(gate, up);
}

/** x · rsqrt(mean(x²) + eps) · weight */
export function fusedRmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  const f = tf.customGrad((...args: Args) => {
    const [xx, w] = args as tf.Tensor[];
    const [out, invRms] = runFused("rmsNorm", { x: xx, weight: w }, { eps });
    (args[2] as tf.GradSaveFunc)([xx, w, invRms]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        runFused("rmsNormGrad", { dy: dy as tf.Tensor, x: saved[0], weight: saved[1], invRms: saved[2] }),
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
      value: runFused("rope", { x: xx, cos, sin }, { inverse: false, heads })[0],
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        runFused("rope", { x: dy as tf.Tensor, cos: saved[0], sin: saved[1] }, { inverse: true, heads }),
    };
  });
  return f(x);
}

/** softmax(scores · scale + mask) over the last axis; mask [R, Tk] repeats over the leading axes. */
export function fusedMaskedSoftmax(scores: tf.Tensor, mask: tf.Tensor, scale: number): tf.Tensor {
  const f = tf.customGrad((...args: Args) => {
    const s = args[0] as tf.Tensor;
    const probs = runFused("maskedSoftmax", { scores: s, mask }, { scale })[0];
    (args[1] as tf.GradSaveFunc)([probs]);
    return {
      value: probs,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        runFused("maskedSoftmaxGrad", { dy: dy as tf.Tensor, probs: saved[0] }, { scale }),
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
    const [out, lse] = runFused("causalAttention", { q: qq, k: kk, v: vv }, { scale });
    (args[3] as tf.GradSaveFunc)([qq, kk, vv, out, lse]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sq, sk, sv, so, sl] = saved;
        return runFused(
          "causalAttentionGrad",
          { dy: dy as tf.Tensor, q: sq, k: sk, v: sv, out: so, lse: sl },
          { scale },
        );
      },
    };
  });
  return f(q, k, v);
}
