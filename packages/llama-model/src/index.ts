// The safetensors names a checkpoint user needs, re-exported unchanged (one SafetensorsError class);
// the rest of the format (header parsing, BF16 conversion, file names) is @biomed-llama/safetensors'.
export {
  openSafetensors,
  readSafetensors,
  SafetensorsCheckpoint,
  SafetensorsError,
  SafetensorsFile,
  type SafetensorsTensorInfo,
  type ShardOptions,
  type TensorData,
  type TensorSource,
  type WriteSafetensorsOptions,
  writeSafetensors,
  writeSafetensorsCheckpoint,
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
} from "./checkpoint-hf.js";
export {
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
export { firstNonFiniteParameter, type NonFiniteParameter } from "./finite-check.js";
export { GenerateError, type GenerateOptions, generate } from "./generate.js";
export {
  type Float32UnitSource,
  float32UnitHooks,
  type LayerwiseOptions,
  type LlamaUnit,
  layerwiseLoss,
  layerwiseLossAndGrads,
  llamaUnits,
  readTransient,
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
