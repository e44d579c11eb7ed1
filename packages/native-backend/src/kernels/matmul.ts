import * as tf from "@tensorflow/tfjs";
import { type NativeKernel, sizeOf } from "./util.js";

/**
 * BatchMatMul on oneDNN. tfjs hands any rank ≥ 2 with broadcast-compatible leading axes; the cpu
 * kernel's semantics are kept: leading axes flattened, a batch of 1 on either side broadcasts.
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
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = sizeOf(outer);
  // One operand's batch of 1 broadcasts, or both walk the same batch in step. Anything else (batches
  // [3, 1] x [1, 3] → 9, or [2, 3] x [3] → 6) is a general broadcast: the cpu kernel.
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  const out = backend.output([...outer, M, N]);
  if (batch === 0 || M === 0 || N === 0) return out.info; // nothing to compute (the addon wants batches ≥ 1)
  backend.binding.matmul(
    backend.stored(a) as Float32Array,
    backend.stored(b) as Float32Array,
    out.values,
    batchA,
    batchB,
    M,
    N,
    K,
    transposeA,
    transposeB,
    backend.matmulPrecision === "bf16",
  );
  return out.info;
};
