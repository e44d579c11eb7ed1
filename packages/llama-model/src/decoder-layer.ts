import * as tf from "@tensorflow/tfjs";
import { causalAttention, tokenMajorCausalAttention } from "./attention.js";
import { hasFused } from "./fused.js";
import { linear, mlp } from "./mlp.js";
import { rmsNorm } from "./rmsnorm.js";
import { applyRope } from "./rope.js";

/** The nine tensors of one LlamaDecoderLayer, in a fixed order (customGrad takes a flat list). */
export const LAYER_PARAM_SUFFIXES = [
  "input_layernorm.weight",
  "self_attn.q_proj.weight",
  "self_attn.k_proj.weight",
  "self_attn.v_proj.weight",
  "self_attn.o_proj.weight",
  "post_attention_layernorm.weight",
  "mlp.gate_proj.weight",
  "mlp.up_proj.weight",
  "mlp.down_proj.weight",
] as const;

export interface LayerContext {
  numHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  eps: number;
  /** [Tq, headDim] rotary tables for the positions of this call. */
  cos: tf.Tensor;
  sin: tf.Tensor;
  blockSize?: number;
}

/** Keys and values of earlier positions, after RoPE: [B, KV, Tpast, headDim]. */
export interface LayerCache {
  k: tf.Tensor;
  v: tf.Tensor;
}

/**
 * One LlamaDecoderLayer: h + attn(norm(h)), then + mlp(norm(·)). With `withCache` the new keys/values
 * are appended to `withCache.past` and returned (generation); the caller owns and disposes the caches.
 */
export function decoderLayer(
  h: tf.Tensor,
  w: tf.Tensor[],
  ctx: LayerContext,
  withCache?: { past?: LayerCache },
): { out: tf.Tensor; cache?: LayerCache } {
  const [inNorm, wq, wk, wv, wo, postNorm, gate, up, down] = w;
  let cache: LayerCache | undefined;
  const out = tf.tidy(() => {
    const [B, T] = h.shape;
    const x = rmsNorm(h, inNorm, ctx.eps);
    const split = (t: tf.Tensor, n: number) => tf.reshape(t, [B, T, n, ctx.headDim]);
    let merged: tf.Tensor;
    if (!withCache && !ctx.blockSize && hasFused("causalAttention")) {
      // Token-major all the way: [B, T, heads, d] is a reshape of the projections, no transposes.
      const q = applyRope(split(linear(x, wq), ctx.numHeads), ctx.cos, ctx.sin, true);
      const k = applyRope(split(linear(x, wk), ctx.numKeyValueHeads), ctx.cos, ctx.sin, true);
      const v = split(linear(x, wv), ctx.numKeyValueHeads);
      merged = tokenMajorCausalAttention(q, k, v);
    } else {
      const heads = (t: tf.Tensor, n: number) => tf.transpose(split(t, n), [0, 2, 1, 3]);
      const q = applyRope(heads(linear(x, wq), ctx.numHeads), ctx.cos, ctx.sin);
      let k = applyRope(heads(linear(x, wk), ctx.numKeyValueHeads), ctx.cos, ctx.sin);
      let v = heads(linear(x, wv), ctx.numKeyValueHeads);
      if (withCache) {
        if (withCache.past) {
          k = tf.concat([withCache.past.k, k], 2);
          v = tf.concat([withCache.past.v, v], 2);
        }
        cache = { k: tf.keep(k), v: tf.keep(v) };
      }
      merged = tf.transpose(causalAttention(q, k, v, { blockSize: ctx.blockSize }), [0, 2, 1, 3]);
    }
    merged = tf.reshape(merged, [B, T, ctx.numHeads * ctx.headDim]);
    const h2 = tf.add(h, linear(merged, wo));
    return tf.add(h2, mlp(rmsNorm(h2, postNorm, ctx.eps), gate, up, down));
  });
  return { out, cache };
}

/**
 * The same layer, but autodiff keeps only its input: the backward pass re-runs the forward under a
 * fresh tape and differentiates that (activation checkpointing, one layer at a time).
 */
export function recomputedDecoderLayer(h: tf.Tensor, w: tf.Tensor[], ctx: LayerContext): tf.Tensor {
  const fn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const inputs = args as tf.Tensor[];
    // The rotary tables die with the forward's tidy scope; saved copies live until backward is done.
    save([...inputs, ctx.cos, ctx.sin]);
    const value = decoderLayer(inputs[0], inputs.slice(1), ctx).out;
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        // tfjs keeps one global tape: a gradient computed inside a backward pass would replace the
        // outer tape (and the outer pass would then crash disposing it). Put it back afterwards.
        const state = (tf.engine() as unknown as { state: { activeTape: unknown } }).state;
        const outerTape = state.activeTape;
        try {
          const n = saved.length - 2;
          const c = { ...ctx, cos: saved[n], sin: saved[n + 1] };
          const f = (...xs: tf.Tensor[]) => decoderLayer(xs[0], xs.slice(1), c).out;
          return tf.grads(f)(saved.slice(0, n), dy as tf.Tensor);
        } finally {
          state.activeTape = outerTape;
        }
      },
    };
  });
  return fn(h, ...w);
}
