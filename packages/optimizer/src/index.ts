export type { AdamWKeyState, AdamWOptions, AdamWStateDict, ParamShard } from "./adamw.js";
export { AdamW } from "./adamw.js";
export type { ClipGradNormOptions } from "./clip-grad-norm.js";
export { clipGradNorm, sumOfSquares } from "./clip-grad-norm.js";
export type { DecayPolicy, FlatParamEntry } from "./decay-mask.js";
export { decayMask, flatDecayMask, flatDecayRanges } from "./decay-mask.js";
export { OptimizerInputError, OptimizerStateError } from "./errors.js";
export { adamwKernel } from "./native-kernel.js";
export type {
  ConstantLrOptions,
  CosineWithWarmupOptions,
  LinearWithWarmupOptions,
  LrSchedule,
  LrScheduleStateDict,
} from "./schedules.js";
export {
  ConstantLr,
  CosineWithWarmup,
  constantLr,
  cosineWithWarmup,
  LinearWithWarmup,
  linearWithWarmup,
  warmupStepsFrom,
} from "./schedules.js";
