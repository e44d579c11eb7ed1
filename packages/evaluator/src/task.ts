import type { Doc } from "./datasets.js";

/** Which prompt family a task belongs to. */
export type TaskFamily = "lm-eval" | "biomed-llama";

export interface SplitSource {
  /** Files (relative to the data dir) this split reads; few-shot uses a split only if all exist. */
  files: string[];
  load(dataDir: string): Doc[] | Promise<Doc[]>;
}

interface TaskBase {
  name: string;
  /** Other names accepted on the command line (e.g. lm-eval's spelling). */
  aliases?: string[];
  family: TaskFamily;
  /** Reported in `versions` (lm-eval reports "Yaml" for yaml tasks without a version). */
  version: number | string;
  splits: Record<string, SplitSource>;
  testSplit: string;
  /** lm-eval's fields, echoed into `configs` so a reader can see exactly what was run. */
  config: Record<string, unknown>;
}

export interface MultipleChoiceTaskDef extends TaskBase {
  outputType: "multiple_choice";
  /** Prepended to the whole prompt (MMLU's "The following are multiple choice questions..."). */
  description?: string;
  /** Splits to draw few-shot examples from, in order of preference (first available wins). */
  fewshotSplits: string[];
  fewshotSampler: "default" | "first_n";
  targetDelimiter: string;
  fewshotDelimiter: string;
  docToText(doc: Doc): string;
  docToChoice(doc: Doc): string[];
  docToTarget(doc: Doc): number;
  /** Text after the target delimiter in few-shot examples; default: the gold choice. */
  fewshotTarget?(doc: Doc): string;
  metrics: Array<"acc" | "acc_norm">;
}

export interface PerplexityTaskDef extends TaskBase {
  outputType: "loglikelihood_rolling";
  docToTarget(doc: Doc): string;
  /** The single token before the first window: BOS (lm-eval ≥ 0.4.2) or EOS (BioMed-LLaMA, older lm-eval). */
  prefixToken: "bos" | "eos";
}

export type TaskDef = MultipleChoiceTaskDef | PerplexityTaskDef;
