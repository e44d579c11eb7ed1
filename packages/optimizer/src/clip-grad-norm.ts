import { OptimizerInputError } from "./errors.js";

export interface ClipGradNormOptions {
  /**
   * Sums this rank's local sum of squares over the ranks that hold DIFFERENT parts of the gradient
   * (the shard group), e.g. `async (s) => { const b = new Float32Array([s]); await shardGroup.allReduce(b, "sum"); return b[0]; }`.
   * Reducing over replicas as well would count every shard once per replica and inflate the norm.
   * Omitted = the gradients given are the whole model.
   */
  reduceSumOfSquares?: (localSumOfSquares: number) => Promise<number>;
}

/** Sum of squares of all elements, accumulated in float64. */
export function sumOfSquares(grads: readonly Float32Array[]): number {
  let total = 0;
  for (const g of grads) {
    for (let i = 0; i < g.length; i++) {
      const x = g[i] as number;
      total += x * x;
    }
  }
  return total;
}

/**
 * Global L2-norm clipping as `torch.nn.utils.clip_grad_norm_`: scales every gradient in place by
 * `min(1, maxNorm / (norm + 1e-6))` and returns the norm before clipping. A non-finite norm is
 * returned untouched and nothing is scaled, so the caller can skip the step (torch would instead
 * multiply every gradient by NaN).
 */
export async function clipGradNorm(
  grads: readonly Float32Array[],
  maxNorm: number,
  opts: ClipGradNormOptions = {},
): Promise<number> {
  if (!(maxNorm > 0)) throw new OptimizerInputError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const local = sumOfSquares(grads);
  const total = opts.reduceSumOfSquares ? await opts.reduceSumOfSquares(local) : local;
  const norm = Math.sqrt(total);
  if (!Number.isFinite(norm)) return norm;
  const fr = Math.fround;
  // torch keeps the norm as a float32 tensor and evaluates `max_norm / (norm + 1e-6)` as
  // reciprocal(norm + 1e-6) * max_norm in float32, then clamps to 1.
  const coef = Math.min(1, fr(fr(1 / fr(fr(norm) + fr(1e-6))) * fr(maxNorm)));
  if (coef < 1) {
    for (const g of grads) {
      for (let i = 0; i < g.length; i++) g[i] = (g[i] as number) * coef;
    }
  }
  return norm;
}
