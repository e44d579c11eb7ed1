import * as tf from "@tensorflow/tfjs";
import { matmulPrecision } from "./backend.js";
import { FUSED, fusedRoundToBf16, fusedSwiglu, hasFused } from "./fused.js";

/**
 * x @ Wᵀ for a weight kept in HF orientation [out, in], over any number of leading axes. Under bf16
 * matmul precision the weight is rounded to bfloat16 here, once, and the matmul and its input gradient
 * both use that copy.
 */
export function linear(x: tf.Tensor, weight: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inDim = x.shape[x.shape.length - 1];
    const lead = x.shape.slice(0, -1);
    const w = matmulPrecision() === "bf16" && hasFused(FUSED.roundToBf16) ? fusedRoundToBf16(weight) : weight;
    const y = tf.matMul(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, w as tf.Tensor2D, false, true);
    return tf.reshape(y, [...lead, weight.shape[0]]);
  });
}

/** LlamaMLP: down(silu(gate(x)) · up(x)). */
export function mlp(x: tf.Tensor, gate: tf.Tensor, up: tf.Tensor, down: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const g = linear(x, gate);
    const u = linear(x, up);
    const act = hasFused(FUSED.swiglu) ? fusedSwiglu(g, u) : tf.mul(tf.mul(g, tf.sigmoid(g)), u);
    return linear(act, down);
  });
}
