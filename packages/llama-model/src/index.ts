export const PACKAGE_NAME = "@biomed-llama/llama-model";
export { type BackendName, BackendUnavailableError, setBackend } from "./backend.js";
export { BatchShapeError, IGNORE_INDEX } from "./causal-lm-loss.js";
export { CheckpointError, loadHFCheckpoint, saveHFCheckpoint } from "./checkpoint-hf.js";
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
export { type GenerateOptions, generate } from "./generate.js";
export { initialParameter, initialParameters, Xoshiro128 } from "./hf-init.js";
export {
  disposeCache,
  type KVCache,
  LlamaForCausalLM,
  type LlamaOptions,
  type LossOptions,
  StateDictError,
} from "./llama.js";
export {
  openSafetensors,
  readSafetensors,
  type SafetensorsDtype,
  SafetensorsError,
  type SafetensorsFile,
  type SafetensorsTensorInfo,
  writeSafetensors,
} from "./safetensors.js";
export { registerWasmKernels } from "./wasm-kernels.js";
