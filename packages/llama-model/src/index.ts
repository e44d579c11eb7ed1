export const PACKAGE_NAME = "@biomed-llama/llama-model";
export {
  decodeToFloat32,
  float32ToBf16Bits,
  INDEX_FILE,
  MAX_HEADER_BYTES,
  openSafetensors,
  parseSafetensorsHeader,
  readSafetensors,
  SafetensorsCheckpoint,
  type SafetensorsDtype,
  SafetensorsError,
  SafetensorsFile,
  type SafetensorsTensorInfo,
  type ShardOptions,
  SINGLE_FILE,
  type TensorData,
  type TensorSource,
  type WriteSafetensorsOptions,
  writeSafetensors,
  writeSafetensorsCheckpoint,
  writeSafetensorsFrom,
} from "@biomed-llama/safetensors";
export {
  BACKEND_NAMES,
  type BackendName,
  BackendUnavailableError,
  describeBackend,
  type MatmulPrecision,
  releaseBackendMemory,
  setBackend,
  setMatmulPrecision,
  wasmThreadCount,
} from "./backend.js";
export { BatchShapeError, IGNORE_INDEX } from "./causal-lm-loss.js";
export {
  CheckpointError,
  initHFCheckpoint,
  type LoadHFOptions,
  loadHFCheckpoint,
  readHFConfig,
  type SaveOptions,
  saveHFCheckpoint,
  saveHFStateDict,
  type WeightStorage,
} from "./checkpoint-hf.js";
export {
  headDim,
  LLAMA_PRESETS,
  type LlamaConfig,
  LlamaConfigError,
  parameterCount,
  parameterShapes,
  presetConfig,
  resolveConfig,
  trainingFlopsPerToken,
  UnknownPresetError,
} from "./config.js";
export { firstNonFiniteIndex, firstNonFiniteParameter, type NonFiniteParameter } from "./finite-check.js";
export { FUSED, setFusedKernels } from "./fused.js";
export { GenerateError, type GenerateOptions, generate, pickToken } from "./generate.js";
export { initialParameter, initialParameters, Xoshiro128 } from "./hf-init.js";
export {
  type Float32UnitSource,
  float32UnitHooks,
  type LayerwiseOptions,
  type LlamaUnit,
  layerwiseLoss,
  layerwiseLossAndGrads,
  llamaUnits,
  type UnitHooks,
} from "./layerwise.js";
export {
  disposeCache,
  type KVCache,
  LlamaForCausalLM,
  type LlamaOptions,
  type LossOptions,
  StateDictError,
} from "./llama.js";
export { TensorLimitError } from "./tensor-limits.js";
export {
  BLAS_ENV,
  type BlasMatMulStatus,
  blasMatMulStatus,
  enableBlasMatMul,
  matMulKernelSeconds,
} from "./wasm-blas.js";
export { registerWasmKernels } from "./wasm-kernels.js";
export { WASM_THREADS_ENV, WasmThreadsEnvError } from "./wasm-threads.js";
