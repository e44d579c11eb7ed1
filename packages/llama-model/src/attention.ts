import * as tf from "@tensorflow/tfjs";
import { blockwiseAttention } from "./blockwise-attention.js";
import { causalMaskRows } from "./causal-mask.js";
import { FUSED, fusedMaskedSoftmax, hasFused } from "./fused.js";

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
      const probs = hasFused(FUSED.maskedSoftmax)
        ? fusedMaskedSoftmax(raw, mask, scale)
        : tf.softmax(tf.add(tf.mul(raw, scale), mask), -1);
      out = tf.matMul(probs, v);
    }
    return tf.reshape(out, [B, H, Tq, d]);
  });
}
