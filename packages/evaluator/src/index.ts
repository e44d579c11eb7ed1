export type { Doc } from "./datasets.js";
export { encodePair } from "./encode-pair.js";
export {
  EvaluatorError,
  ModelLoadError,
  RequestError,
  TaskDataError,
  TaskSpecError,
  UnknownTaskError,
} from "./errors.js";
export {
  type EvaluateOptions,
  evaluateTasks,
  type PreparedTask,
  prepareTasks,
  type TaskResult,
} from "./evaluate.js";
export { FewshotSampler } from "./fewshot.js";
export {
  LlamaLM,
  type LlamaLMOptions,
  type LlamaLMPlan,
  type LoadedLlamaLMInfo,
  type LoadLlamaLMOptions,
  loadLlamaLM,
  prepareLlamaLM,
  type TokenizerLike,
} from "./llama-lm.js";
export type { LM, QueryScore, ScoreRow } from "./lm.js";
export {
  encodeRequests,
  type LoglikelihoodOptions,
  type LoglikelihoodRequest,
  type LoglikelihoodResponse,
  loglikelihood,
  loglikelihoodRolling,
  loglikelihoodTokens,
  type ScoringOptions,
  type TokenRequest,
} from "./loglikelihood.js";
export {
  argmax,
  bitsPerByte,
  countBytes,
  countWords,
  mean,
  meanStderr,
  sampleStddev,
  weightedMean,
  weightedPerplexity,
} from "./metrics.js";
export { PythonRandom } from "./python-random.js";
export { type CachedScore, RequestCache } from "./request-cache.js";
export { checkRequestLengths, type RequestLengthOptions } from "./request-lengths.js";
export {
  buildResults,
  CACHE_FILE,
  checkResultsDir,
  compareTable,
  makeTable,
  type ResultsDirOptions,
  type ResultsDirState,
  type ResultsJson,
  type RunInfo,
  writeResultsDir,
} from "./results.js";
export { getRollingTokenWindows, makeDisjointWindow } from "./rolling-windows.js";
export type { SplitSource, TaskDef } from "./task.js";
export {
  buildTask,
  type LoglikelihoodRollingTaskSpec,
  type MultipleChoiceTaskSpec,
  type TaskSpec,
} from "./task-spec.js";
export { getTask, listTaskNames, resolveTasks, TASK_GROUPS, TASK_SPECS, TASKS } from "./tasks/index.js";
export { type PileShardReader, setPileShardReader } from "./tasks/pile-data.js";
