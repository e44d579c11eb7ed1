export { BatchPlan, type BatchPlanOptions, type DataCursor, epochSeed } from "./batch-plan.js";
export {
  type CheckpointRef,
  COMPLETE_MARKER,
  checkpointsDir,
  latestCheckpoint,
  listCheckpoints,
  MANIFEST_FILE,
  readManifest,
  verifyCheckpoint,
} from "./checkpoint-store.js";
export {
  blameFlags,
  DEFAULT_TRAIN_CONFIG,
  FINETUNE_DEFAULTS,
  loadConfig,
  mergeConfigLayers,
  RESUMABLE_OVERRIDES,
  readConfigFile,
  TRAIN_CONFIG_KEYS,
  type TrainConfig,
  type ValidateOptions,
  validateConfig,
} from "./config.js";
export {
  type FinetuneTask,
  finetuneExamples,
  finetuneSequences,
  openPretrainSequences,
  readInstructMix,
} from "./data-sources.js";
export { CheckpointError, ConfigError, DataFormatError, NonFiniteLossError } from "./errors.js";
export {
  type McqaSample,
  type McqaTask,
  readMcqa,
  readMedmcqa,
  readMedqa,
  readPubmedqa,
} from "./mcqa-readers.js";
export {
  type EvalMetrics,
  formatStepLine,
  MetricsWriter,
  readMetrics,
  type StepMetrics,
  truncateMetrics,
} from "./metrics-log.js";
export { Rng, seededPermutation } from "./rng.js";
export { RunDirectory } from "./run-dir.js";
export { fsdpUnits, type ShardedModel } from "./sharded-model.js";
export {
  IGNORE_INDEX,
  mcqaPromptCompletion,
  type PromptCompletion,
  type PromptTokenizer,
  supervisedSequences,
  tokenizePromptCompletion,
  trimToLastLabel,
} from "./supervised-sequences.js";
export {
  makeSchedule,
  runModelConfig,
  type TrainOptions,
  type TrainResult,
  train,
} from "./train.js";
export { type CheckpointManifest, type LoopState, readShardedStates, resumeConfig } from "./train-state.js";
