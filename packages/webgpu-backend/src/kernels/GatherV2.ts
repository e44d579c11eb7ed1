import * as tf from "@tensorflow/tfjs";
import { correctKernel, fill, sizeOf } from "./util.js";

// GatherV2 (tf.gather) in tfjs-backend-webgpu 4.22 from an x of size 0 into a non-empty output (every
// index then points into an axis of size 0) binds an empty buffer ("Binding size ... is zero"), a
// device error that poisons every later result. The corrected kernel returns zeros there, which is what
// webgpu's gather gives for any out-of-range index (it does not check indices; cpu throws).

export function registerGatherV2(): void {
  correctKernel("GatherV2", (original) => (args) => {
    const { x, indices } = args.inputs;
    if (sizeOf(x.shape) !== 0) return original(args);
    const axis = args.attrs?.axis as number;
    const batchDims = (args.attrs?.batchDims as number | undefined) ?? 0;
    const [ax] = tf.util.parseAxisParam(axis, x.shape);
    const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
      x as unknown as tf.TensorInfo,
      indices as unknown as tf.TensorInfo,
      ax,
      batchDims,
    );
    if (sizeOf(info.outputShape) !== 0) return fill(args.backend, info.outputShape, 0, x.dtype);
    return original(args);
  });
}
