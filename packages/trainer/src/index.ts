export { BatchPlan, type BatchPlanOptions, type DataCursor, epochSeed } from "./batch-plan.js";
export {
  type CheckpointRef,
  latestCheckpoint,
  listCheckpoints,
  MANIFEST_FILE,
  verifyCheckpoint,
} from "./checkpoint-store.js";
export {
  blameFlags,
  DEFAULT_TRAIN_CONFIG,
  FINETUNE_DEFAULTS,
  loadConfig,
  mergeConfigLayers,
  type TrainConfig,
  type ValidateOptions,
  validateConfig,
} from "./config.js";
export {
  type FinetuneTask,
  finetuneSequences,
  openPretrainSequences,
  readInstructMix,
} from "./data-sources.js";
export { CheckpointError, ConfigError, DataFormatError, NonFiniteLossError } from "./errors.js";
export { type McqaSample, readMedmcqa, readMedqa, readPubmedqa } from "./mcqa-readers.js";
export {
  type EvalMetrics,
  formatStepLine,
  MetricsWriter,
  readMetrics,
  type StepMetrics,
  truncateMetrics,
} from "./metrics-log.js";
export { Rng } from "./rng.js";
export { RunDirectory } from "./run-dir.js";
export { fsdpUnits, type ShardedModel } from "./sharded-model.js";
export {
  mcqaPromptCompletion,
  type PromptCompletion,
  type PromptTokenizer,
  tokenizePromptCompletion,
} from "./supervised-sequences.js";
export {
  makeSchedule,
  runModelConfig,
  type TrainOptions,
  type TrainResult,
  train,
} from "./train.js";
export { type CheckpointManifest, readShardedStates, resumeConfig } from "./train-state.js";
