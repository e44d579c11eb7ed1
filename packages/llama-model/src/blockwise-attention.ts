import * as tf from "@tensorflow/tfjs";
import { causalMaskRows } from "./causal-mask.js";

export interface BlockwiseParams {
  rep: number;
  tq: number;
  past: number;
  blockSize: number;
  scale: number;
}

/**
 * Flash-style causal attention: keys are visited in blocks with an online softmax (running max m and
 * normaliser l), so no [rows × Tk] score matrix exists at once — only [rows × blockSize]. The backward
 * pass recomputes each block's probabilities from the saved log-sum-exp (FlashAttention-2, Alg. 2)
 * instead of letting autodiff keep every block alive. Mask blocks are built when used, for the same reason.
 * q: [B, G, R, d] (R = rep·tq grouped query rows), k/v: [B, G, Tk, d]. Returns [B, G, R, d].
 */
export function blockwiseAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, p: BlockwiseParams): tf.Tensor {
  const Tk = k.shape[2] as number;
  const blocks: { k0: number; len: number }[] = [];
  for (let k0 = 0; k0 < Tk; k0 += p.blockSize) blocks.push({ k0, len: Math.min(p.blockSize, Tk - k0) });
  const rows = q.shape[2] as number;
  const blockScores = (qq: tf.Tensor, kk: tf.Tensor, i: number): { s: tf.Tensor; kj: tf.Tensor } => {
    const b = blocks[i];
    const kj = tf.slice(kk, [0, 0, b.k0, 0], [-1, -1, b.len, -1]);
    const s = tf.add(
      tf.mul(tf.matMul(qq, kj, false, true), p.scale),
      tf.tensor2d(causalMaskRows(p.rep, p.tq, p.past, b.k0, b.len), [rows, b.len]),
    );
    return { s, kj };
  };

  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qq, kk, vv] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [outT, lse] = tf.tidy(() => {
      let m: tf.Tensor = tf.fill([...qq.shape.slice(0, 3), 1], -1e30);
      let l: tf.Tensor = tf.zeros([...qq.shape.slice(0, 3), 1]);
      let o: tf.Tensor = tf.zerosLike(qq);
      for (let i = 0; i < blocks.length; i++) {
        const { s } = blockScores(qq, kk, i);
        const vj = tf.slice(vv, [0, 0, blocks[i].k0, 0], [-1, -1, blocks[i].len, -1]);
        const mNew = tf.maximum(m, tf.max(s, -1, true));
        const pr = tf.exp(tf.sub(s, mNew));
        const alpha = tf.exp(tf.sub(m, mNew));
        l = tf.add(tf.mul(l, alpha), tf.sum(pr, -1, true));
        o = tf.add(tf.mul(o, alpha), tf.matMul(pr, vj));
        m = mNew;
      }
      return [tf.div(o, l), tf.add(m, tf.log(l))];
    });
    save([qq, kk, vv, outT, lse]);
    return {
      value: outT,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dO = dy as tf.Tensor;
        const [sq, sk, sv, so, slse] = saved;
        return tf.tidy(() => {
          const D = tf.sum(tf.mul(dO, so), -1, true);
          let dq: tf.Tensor = tf.zerosLike(sq);
          const dks: tf.Tensor[] = [];
          const dvs: tf.Tensor[] = [];
          for (let i = 0; i < blocks.length; i++) {
            const { s, kj } = blockScores(sq, sk, i);
            const vj = tf.slice(sv, [0, 0, blocks[i].k0, 0], [-1, -1, blocks[i].len, -1]);
            const pr = tf.exp(tf.sub(s, slse));
            dvs.push(tf.matMul(pr, dO, true, false));
            const dp = tf.matMul(dO, vj, false, true);
            const ds = tf.mul(tf.mul(pr, tf.sub(dp, D)), p.scale);
            dq = tf.add(dq, tf.matMul(ds, kj));
            dks.push(tf.matMul(ds, sq, true, false));
          }
          return [dq, tf.concat(dks, 2), tf.concat(dvs, 2)];
        });
      },
    };
  });
  return f(q, k, v);
}
