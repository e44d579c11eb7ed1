import * as tf from "@tensorflow/tfjs";
import { blockwiseAttention } from "./blockwise-attention.js";
import { causalMaskRows } from "./causal-mask.js";
import { fusedCausalAttention, fusedMaskedSoftmax, hasFused } from "./fused.js";

export interface AttentionOptions {
  /** Key-block size for the flash-style path; 0 or undefined = plain attention with the full score matrix. */
  blockSize?: number;
}

/**
 * Causal scaled-dot-product attention with grouped key/value heads, as HF's eager LlamaAttention.
 * q: [B, H, Tq, d], k/v: [B, KV, Tk, d] with Tk ≥ Tq (the first Tk − Tq keys come from a cache).
 * Instead of repeating k/v H/KV times (repeat_kv), the query heads sharing one key/value head are
 * folded into the row axis: [B, KV, (H/KV)·Tq, d]. Same numbers, no copies of k and v.
 */
export function causalAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  opts: AttentionOptions = {},
): tf.Tensor {
  return tf.tidy(() => {
    const [B, H, Tq, d] = q.shape as number[];
    const KV = k.shape[1] as number;
    const Tk = k.shape[2] as number;
    const rep = H / KV;
    const qg = tf.reshape(q, [B, KV, rep * Tq, d]);
    const scale = 1 / Math.sqrt(d);
    let out: tf.Tensor;
    if (opts.blockSize && opts.blockSize > 0 && opts.blockSize < Tk) {
      out = blockwiseAttention(qg, k, v, { rep, tq: Tq, past: Tk - Tq, blockSize: opts.blockSize, scale });
    } else {
      const raw = tf.matMul(qg, k, false, true);
      const mask = tf.tensor2d(causalMaskRows(rep, Tq, Tk - Tq, 0, Tk), [rep * Tq, Tk]);
      const probs = hasFused("maskedSoftmax")
        ? fusedMaskedSoftmax(raw, mask, scale)
        : tf.softmax(tf.add(tf.mul(raw, scale), mask), -1);
      out = tf.matMul(probs, v);
    }
    return tf.reshape(out, [B, H, Tq, d]);
  });
}

/**
 * Causal self-attention over a whole sequence (no key cache) on token-major tensors, the layout the
 * projections produce: q [B, T, H, d], k/v [B, T, KV, d] → [B, T, H, d]. Where the backend has the
 * fused kernel, no head transposes and no [T, T] score matrix exist; elsewhere this is
 * `causalAttention` between transposes.
 */
export function tokenMajorCausalAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor {
  const d = q.shape[3] as number;
  if (hasFused("causalAttention")) return fusedCausalAttention(q, k, v, 1 / Math.sqrt(d));
  return tf.tidy(() => {
    const headMajor = (t: tf.Tensor) => tf.transpose(t, [0, 2, 1, 3]);
    return tf.transpose(causalAttention(headMajor(q), headMajor(k), headMajor(v)), [0, 2, 1, 3]);
  });
}
