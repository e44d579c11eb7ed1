import * as tf from "@tensorflow/tfjs";
import { fusedRope, hasFused } from "./fused.js";

/**
 * Rotary tables as HF's LlamaRotaryEmbedding builds them: inv_freq = 1/theta^(2i/d) in float32, the
 * angle position·inv_freq rounded to float32 *before* cos/sin (at position 2000 the float32 angle
 * differs from the exact one by ~1e-4, and HF's checkpoints were trained with the rounded one), and
 * the half-table repeated so it lines up with rotate-half.
 */
export function ropeTables(
  headDim: number,
  theta: number,
  start: number,
  length: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const exponent = Math.fround(Math.fround(2 * i) / headDim);
    invFreq[i] = Math.fround(1 / Math.fround(theta ** exponent));
  }
  const cos = new Float32Array(length * headDim);
  const sin = new Float32Array(length * headDim);
  for (let t = 0; t < length; t++) {
    const pos = start + t;
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(pos * invFreq[i]);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[t * headDim + i] = c;
      cos[t * headDim + half + i] = c;
      sin[t * headDim + i] = s;
      sin[t * headDim + half + i] = s;
    }
  }
  return { cos, sin };
}

/** rotate_half(x) = cat(-x[..., d/2:], x[..., :d/2]) */
export function rotateHalf(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [x1, x2] = tf.split(x, 2, -1);
    return tf.concat([tf.neg(x2), x1], -1);
  });
}

/**
 * x·cos + rotate_half(x)·sin for tables of shape [T, headDim] and x head-major [B, heads, T, headDim]
 * or, with `tokenMajor`, [B, T, heads, headDim].
 */
export function applyRope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor, tokenMajor = false): tf.Tensor {
  const heads = tokenMajor ? (x.shape[x.rank - 2] as number) : 1;
  if (hasFused("rope")) return fusedRope(x, cos, sin, heads);
  return tf.tidy(() => {
    const [T, d] = cos.shape;
    const c = tokenMajor ? tf.reshape(cos, [T, 1, d]) : cos;
    const s = tokenMajor ? tf.reshape(sin, [T, 1, d]) : sin;
    return tf.add(tf.mul(x, c), tf.mul(rotateHalf(x), s));
  });
}
