import * as tf from "@tensorflow/tfjs";
import { fusedSwiglu, hasFused } from "./fused.js";

/** x @ Wᵀ for a weight kept in HF orientation [out, in], over any number of leading axes. */
export function linear(x: tf.Tensor, weight: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inDim = x.shape[x.shape.length - 1];
    const lead = x.shape.slice(0, -1);
    const y = tf.matMul(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, weight as tf.Tensor2D, false, true);
    return tf.reshape(y, [...lead, weight.shape[0]]);
  });
}

/** LlamaMLP: down(silu(gate(x)) · up(x)). */
export function mlp(x: tf.Tensor, gate: tf.Tensor, up: tf.Tensor, down: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const g = linear(x, gate);
    const u = linear(x, up);
    const act = hasFused("swiglu") ? fusedSwiglu(g, u) : tf.mul(tf.mul(g, tf.sigmoid(g)), u);
    return linear(act, down);
  });
}
