import type * as tf from "@tensorflow/tfjs";
import type { NativeKernel } from "./util.js";

/** [B, T, H, d] of q and the [B, T, KV, d] of k / v, checked against each other. */
function dims(q: tf.TensorInfo, k: tf.TensorInfo, v: tf.TensorInfo) {
  const [B, T, H, d] = q.shape;
  const KV = k.shape[2];
  const same = (s: number[]) => s.length === 4 && s[0] === B && s[1] === T && s[2] === KV && s[3] === d;
  if (q.shape.length !== 4 || !same(k.shape) || !same(v.shape) || KV < 1 || H % KV !== 0)
    throw new Error(
      `BiomedCausalAttention: q [B, T, H, d], k and v [B, T, KV, d] with H a multiple of KV; got [${q.shape}], [${k.shape}], [${v.shape}]`,
    );
  return { B, T, H, KV, d };
}

export const causalAttention: NativeKernel = ({ inputs, backend, attrs }) => {
  const { q, k, v } = inputs as Record<string, tf.TensorInfo>;
  const { B, T, H, KV, d } = dims(q, k, v);
  const out = backend.output(q.shape);
  const lse = backend.output([B, H, T]);
  const { scale } = attrs as { scale: number };
  backend.binding.causalAttention(
    B,
    T,
    H,
    KV,
    d,
    scale,
    backend.f32(q),
    backend.f32(k),
    backend.f32(v),
    out.values,
    lse.values,
  );
  return [out.info, lse.info];
};

export const causalAttentionGrad: NativeKernel = ({ inputs, backend, attrs }) => {
  const { dy, q, k, v, out, lse } = inputs as Record<string, tf.TensorInfo>;
  const { B, T, H, KV, d } = dims(q, k, v);
  const dq = backend.output(q.shape);
  const dk = backend.output(k.shape);
  const dv = backend.output(v.shape);
  const { scale } = attrs as { scale: number };
  backend.binding.causalAttentionGrad(
    B,
    T,
    H,
    KV,
    d,
    scale,
    backend.f32(dy),
    backend.f32(q),
    backend.f32(k),
    backend.f32(v),
    backend.f32(out),
    backend.f32(lse),
    dq.values,
    dk.values,
    dv.values,
  );
  return [dq.info, dk.info, dv.info];
};
