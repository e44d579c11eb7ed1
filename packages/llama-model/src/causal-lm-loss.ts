import * as tf from "@tensorflow/tfjs";
import { hasFused, runFused } from "./fused.js";

/**
 * Hugging Face's ignore_index: labels equal to it take no loss. This is the owner; the tokenizer, which must
 * not depend on the model, pads with a copy that the trainer's tests pin to this one.
 */
export const IGNORE_INDEX = -100;

export class BatchShapeError extends Error {
  override name = "BatchShapeError";
}

/** Rows of equal length as one int32 [B, T] tensor; `what` names the argument in errors. */
export function toIdMatrix(rows: ArrayLike<number>[], what: string): tf.Tensor2D {
  if (rows.length === 0) throw new BatchShapeError(`${what}: empty batch`);
  const T = rows[0].length;
  const flat = new Int32Array(rows.length * T);
  rows.forEach((r, b) => {
    if (r.length !== T) throw new BatchShapeError(`${what}[${b}] has length ${r.length}, row 0 has ${T}`);
    for (let t = 0; t < T; t++) flat[b * T + t] = r[t];
  });
  return tf.tensor2d(flat, [rows.length, T], "int32");
}

/**
 * Checks a causal-LM batch (same-length rows, ≥ 2 tokens, ids inside the vocabulary) and builds the id
 * matrix plus HF's shifted targets. The caller disposes `ids`.
 */
export function prepareCausalBatch(
  inputIds: ArrayLike<number>[],
  labels: ArrayLike<number>[],
  vocabSize: number,
): { ids: tf.Tensor2D; targets: Int32Array; weights: Float32Array; tokens: number } {
  if (labels.length !== inputIds.length)
    throw new BatchShapeError(`labels has ${labels.length} rows, inputIds has ${inputIds.length}`);
  if ((inputIds[0]?.length ?? 0) < 2)
    throw new BatchShapeError("sequences need at least 2 tokens for a causal-LM loss");
  inputIds.forEach((row, b) => {
    for (let t = 0; t < row.length; t++)
      if (!(row[t] >= 0 && row[t] < vocabSize) || !Number.isInteger(row[t]))
        throw new BatchShapeError(
          `inputIds[${b}][${t}] = ${row[t]} is outside the vocabulary [0, ${vocabSize})`,
        );
  });
  const shifted = shiftLabels(labels, vocabSize);
  return { ids: toIdMatrix(inputIds, "inputIds"), ...shifted };
}

/**
 * HF's shift inside LlamaForCausalLM: position t predicts labels[t + 1]; -100 is ignored.
 * Returns flat targets for the B·(T−1) predicting positions, a 0/1 weight per position, and the count.
 */
export function shiftLabels(
  labels: ArrayLike<number>[],
  vocabSize: number,
): { targets: Int32Array; weights: Float32Array; tokens: number } {
  const T = labels[0].length;
  const n = labels.length * (T - 1);
  const targets = new Int32Array(n);
  const weights = new Float32Array(n);
  let tokens = 0;
  labels.forEach((row, b) => {
    if (row.length !== T) throw new BatchShapeError(`labels[${b}] has length ${row.length}, row 0 has ${T}`);
    for (let t = 1; t < T; t++) {
      const y = row[t];
      if (y === IGNORE_INDEX) continue;
      if (!Number.isInteger(y) || y < 0 || y >= vocabSize)
        throw new BatchShapeError(`labels[${b}][${t}] = ${y} is outside the vocabulary [0, ${vocabSize})`);
      targets[b * (T - 1) + t - 1] = y;
      weights[b * (T - 1) + t - 1] = 1;
      tokens++;
    }
  });
  return { targets, weights, tokens };
}

/**
 * Σ weight·(logsumexp(logits) − logits[target]) over rows of [N, V] logits. Two choices here:
 * - log-sum-exp comes from the softmax, lse = max(x) − log(max(softmax(x))): the largest probability
 *   is ≥ 1/V, so its log never underflows, and the softmax kernel is several times faster than the
 *   elementwise Exp behind tf.logSumExp on wasm (an [N, 32000] Exp was ~10% of a training step).
 * - the gradient is written out, (softmax − onehot)·weight, reusing that softmax: backward holds one
 *   [N, V] tensor instead of autodiff's chain of max/sub/exp/sum/log/gather intermediates.
 */
export function weightedCrossEntropySum(
  logits: tf.Tensor2D,
  targets: Int32Array,
  weights: Float32Array,
): tf.Scalar {
  if (hasFused("crossEntropy")) return fusedCrossEntropySum(logits, targets, weights);
  const [N, V] = logits.shape;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const probs = tf.softmax(x, -1);
    save([probs]);
    const value = tf.tidy(() => {
      const flatIdx = new Int32Array(N);
      for (let i = 0; i < N; i++) flatIdx[i] = i * V + targets[i];
      const picked = tf.gather(tf.reshape(x, [N * V]), tf.tensor1d(flatIdx, "int32"));
      const lse = tf.sub(tf.max(x, 1), tf.log(tf.max(probs, 1)));
      return tf.sum(tf.mul(tf.sub(lse, picked), tf.tensor1d(weights)));
    });
    probs.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const onehot = tf.oneHot(tf.tensor1d(targets, "int32"), V, 1, 0, "float32");
          const w = tf.mul(tf.reshape(tf.tensor1d(weights), [N, 1]), dy as tf.Tensor);
          return [tf.mul(tf.sub(saved[0], onehot), w)];
        }),
    };
  });
  return f(logits) as tf.Scalar;
}

// The fused kernels (fused.ts): the same sum and gradient in one pass each over [N, V], holding only
// logsumexp per row for backward (the composite above holds the [N, V] softmax).
function fusedCrossEntropySum(logits: tf.Tensor2D, targets: Int32Array, weights: Float32Array): tf.Scalar {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const t = tf.tensor1d(targets, "int32");
    const w = tf.tensor1d(weights);
    const [value, lse] = runFused("crossEntropy", { logits: x, targets: t, weights: w });
    save([x, lse, t, w]);
    tf.dispose([lse, t, w]);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => [
        runFused("crossEntropyGrad", {
          logits: saved[0],
          targets: saved[2],
          weights: saved[3],
          lse: saved[1],
          dy: dy as tf.Tensor,
        })[0],
      ],
    };
  });
  return f(logits) as tf.Scalar;
}
