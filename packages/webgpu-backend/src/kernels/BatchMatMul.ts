import * as tf from "@tensorflow/tfjs";
import { correctKernel, disposeAll, fill, reshape, runKernel, sizeOf, type TensorInfo } from "./util.js";

// BatchMatMul (tf.matMul) in tfjs-backend-webgpu 4.22:
//  - with K = 0 binds an empty buffer ("Binding size ... is zero"), a device error that poisons every
//    later result; the product is a matrix of zeros;
//  - throws ("Size(45) must match the product of shape 2,3,3,5") where both operands' batch dims
//    broadcast against each other ([2, 1, 3, 4] × [1, 3, 4, 5]): it only broadcasts a batch of 1;
//  - with transposeB and K not a multiple of its 32-wide tile, reads B past the end of a row where A's
//    tile is zero-padded: harmless for finite B (0 · x = 0), but a ±Inf or NaN anywhere in B then turns
//    unrelated outputs into NaN (0 · Inf), outputs cpu computes as finite numbers.
// The corrected kernel returns zeros for K = 0, tiles both operands to the full batch shape first where
// both need broadcasting, and transposes B itself where transposeB meets a K that is not a multiple of
// 32 (LLaMA's K, hidden sizes and head dims, are multiples of 32: nothing changes there).

/** `x` ([...batch, r, c]) tiled to [...outer, r, c]. */
function broadcastBatch(
  backend: Parameters<typeof runKernel>[1],
  x: TensorInfo,
  outer: number[],
  temps: TensorInfo[],
): TensorInfo {
  const rank = outer.length + 2;
  const full = [...Array(rank - x.shape.length).fill(1), ...x.shape];
  const reps = [...outer.map((d, i) => (full[i] === d ? 1 : d)), 1, 1];
  if (reps.every((r) => r === 1) && full.length === x.shape.length) return x;
  const r = reshape(backend, x, full);
  temps.push(r);
  const t = runKernel("Tile", backend, { x: r }, { reps });
  temps.push(t);
  return t;
}

export function registerBatchMatMul(): void {
  correctKernel("BatchMatMul", (original) => (args) => {
    const { backend } = args;
    const { a, b } = args.inputs;
    const transposeA = Boolean(args.attrs?.transposeA);
    const transposeB = Boolean(args.attrs?.transposeB);
    const ra = a.shape.length;
    const rb = b.shape.length;
    const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    const outer = tf.backend_util.assertAndGetBroadcastShape(batchA, batchB);
    if (K === 0) return fill(backend, [...outer, M, N], 0, a.dtype);
    const [bA, bB, bO] = [sizeOf(batchA), sizeOf(batchB), sizeOf(outer)];
    const broadcastBoth = !((bA === bO || bA === 1) && (bB === bO || bB === 1));
    const untransposeB = transposeB && K % 32 !== 0;
    if (!broadcastBoth && !untransposeB) return original(args);
    const temps: TensorInfo[] = [];
    let fa = a;
    let fb = b;
    if (untransposeB) {
      const perm = [...Array(rb - 2).keys(), rb - 1, rb - 2];
      fb = runKernel("Transpose", backend, { x: b }, { perm });
      temps.push(fb);
    }
    if (broadcastBoth) {
      fa = broadcastBatch(backend, fa, outer, temps);
      fb = broadcastBatch(backend, fb, outer, temps);
    }
    const out = original({
      ...args,
      inputs: { ...args.inputs, a: fa, b: fb },
      attrs: { ...args.attrs, transposeB: transposeB && !untransposeB },
    });
    disposeAll(backend, temps);
    return out;
  });
}
