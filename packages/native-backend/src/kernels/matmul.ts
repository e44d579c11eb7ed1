import * as tf from "@tensorflow/tfjs";
import { broadcastStrides, type NativeKernel, stridesOf } from "./util.js";

/**
 * BatchMatMul on oneDNN. tfjs hands any rank ≥ 2 with broadcast-compatible leading axes: leading axes
 * flattened, a batch of 1 on either side broadcasts, equal batches go in step, all in one call. A
 * general broadcast of the leading axes ([3, 1] x [1, 3] → 9 matrices, [2, 3] x [3] → 6) runs one call
 * per output matrix. (tfjs's cpu kernel gets that case wrong: it computes max(batchA, batchB) matrices
 * and returns them under the broadcast shape, a tensor with fewer values than its shape has.)
 * Operands held as bfloat16 are widened inside the call (never as a whole float32 copy).
 */
export const batchMatMul: NativeKernel = ({ inputs, backend, attrs }) => {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== "float32" || b.dtype !== "float32") return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const Kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  if (K !== Kb)
    throw new Error(`BatchMatMul: inner dimensions ${K} and ${Kb} differ ([${a.shape}] x [${b.shape}])`);
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = tf.util.sizeFromShape(outer);
  const out = backend.output([...outer, M, N]);
  if (batch === 0 || M === 0 || N === 0) return out.info; // nothing to compute (the addon wants batches ≥ 1)
  const A = backend.stored(a) as Float32Array;
  const B = backend.stored(b) as Float32Array;
  const bf16 = backend.matmulPrecision === "bf16";
  if ((batchA === batch || batchA === 1) && (batchB === batch || batchB === 1)) {
    backend.binding.matmul(A, B, out.values, batchA, batchB, M, N, K, transposeA, transposeB, bf16);
    return out.info;
  }
  const sa = broadcastStrides(outerA, outer); // in matrices
  const sb = broadcastStrides(outerB, outer);
  const so = stridesOf(outer);
  for (let i = 0; i < batch; i++) {
    let ia = 0;
    let ib = 0;
    let rem = i;
    for (let d = 0; d < outer.length; d++) {
      const idx = Math.floor(rem / so[d]);
      rem -= idx * so[d];
      ia += idx * sa[d];
      ib += idx * sb[d];
    }
    backend.binding.matmul(
      A.subarray(ia * M * K, (ia + 1) * M * K),
      B.subarray(ib * K * N, (ib + 1) * K * N),
      out.values.subarray(i * M * N, (i + 1) * M * N),
      1,
      1,
      M,
      N,
      K,
      transposeA,
      transposeB,
      bf16,
    );
  }
  return out.info;
};
