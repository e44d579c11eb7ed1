export const PACKAGE_NAME = "@biomed-llama/instruct-mixer";

export { Xoshiro128StarStar } from "@biomed-llama/seeded-random";
export { loadAlpaca } from "./adapters/alpaca.js";
export { EXEMPLARS_FORMAT, loadExemplars } from "./adapters/exemplars.js";
export { loadMedMCQA, type MedMCQAOptions } from "./adapters/medmcqa.js";
export { loadMedQA } from "./adapters/medqa.js";
export { loadMmluCot, type MmluCotOptions } from "./adapters/mmlu-cot.js";
export { loadPubMedQA, PUBMEDQA_OPTIONS, type PubMedQAOptions } from "./adapters/pubmedqa.js";
export { ADAPTERS, type AdapterConfigOptions, type AdapterName } from "./adapters/registry.js";
export { InstructMixerError, MixConfigError, SourceFormatError } from "./errors.js";
export { type FormattedPrompt, formatPrompt } from "./format-prompt.js";
export { loadMixConfig, type MixConfig, type MixSourceConfig, validateMixConfig } from "./mix-config.js";
export {
  type DrawOptions,
  dedupRecords,
  drawMixture,
  type GroupSpec,
  type PlannedStratum,
  planMixture,
  type StratumSpec,
} from "./mixture.js";
export type { AdapterOptions, AdapterResult, InstructRecord, MalformedRecord } from "./record.js";
export {
  DEFAULT_DRAWS,
  DEFAULT_SEED,
  type LoadedSource,
  loadMixSources,
  type MixRow,
  type MixStats,
  type RunMixOptions,
  runMix,
  stratumWeight,
  writeAtomically,
} from "./run-mix.js";
export { sampleDataDir, sampleMixConfigPath } from "./sample-data.js";
export { BIOMED_LLAMA_MIXTURE, BIOMED_LLAMA_PUBLISHED_PERCENT } from "./seed-mixture.js";
export { formatMixTable, formatPercent, formatPlanTable, type TableRow } from "./stats-table.js";
export {
  fillTemplate,
  formatChoiceAnswer,
  formatOptions,
  PROMPT_TEMPLATES,
  type PromptTemplate,
  RECORD_TEMPLATES,
  type TemplateName,
} from "./templates.js";
