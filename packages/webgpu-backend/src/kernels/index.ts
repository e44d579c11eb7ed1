import { registerArgMax } from "./ArgMax.js";
import { registerArgMin } from "./ArgMin.js";
import { registerBatchMatMul } from "./BatchMatMul.js";
import { registerBinaryOps } from "./binaryOps.js";
import { registerGatherV2 } from "./GatherV2.js";
import { registerPadV2 } from "./PadV2.js";
import { registerTransposeFix } from "./Transpose.js";
import { registerUnsortedSegmentSum } from "./UnsortedSegmentSum.js";

/**
 * Kernels tfjs-backend-webgpu lacks or gets wrong for LLaMA training, registered for "webgpu" (each
 * file says what the original does wrong). Called by registerWebGpuBackend after tfjs-backend-webgpu
 * has registered its own kernels and the backend factory; idempotent.
 */
export function registerWebGpuKernels(): void {
  registerTransposeFix();
  registerBinaryOps();
  registerPadV2();
  registerBatchMatMul();
  registerArgMax();
  registerArgMin();
  registerUnsortedSegmentSum();
  registerGatherV2();
}
