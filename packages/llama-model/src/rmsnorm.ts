import * as tf from "@tensorflow/tfjs";
import { fusedRmsNorm, hasFused } from "./fused.js";

/** LlamaRMSNorm: x · rsqrt(mean(x²) + eps) · w, all in float32 (tfjs has no lower precision). */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  if (hasFused("rmsNorm")) return fusedRmsNorm(x, weight, eps);
  return tf.tidy(() => {
    const variance = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), weight);
  });
}
