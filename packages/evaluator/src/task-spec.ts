import { optionLetters } from "@biomed-llama/medical-qa";
import type { Doc } from "./datasets.js";
import { TaskDataError, TaskSpecError } from "./errors.js";
import type { MultipleChoiceTaskDef, PerplexityTaskDef, TaskDef, TaskFamily } from "./task.js";
import { datasetSplits } from "./tasks/readers.js";
import { compileTemplate, type Template } from "./template.js";

/**
 * A task as data: lm-eval v0.4's YAML task config, field for field where lm-eval has the field
 * (snake_case, lm-eval's names and defaults), written as a TypeScript object. `buildTask` is the
 * one interpreter that turns a spec into the `TaskDef` the engine runs.
 */
interface TaskSpecBase {
  /** The name on the command line and in results. */
  task: string;
  /** Other names accepted on the command line (e.g. lm-eval's spelling). Not lm-eval's. */
  aliases?: string[];
  /** Whose prompt this is. Not lm-eval's. */
  family: TaskFamily;
  /** Reported in `versions`; without one "Yaml", as lm-eval reports a YAML task without a version. */
  metadata?: { version: number | string };
  /**
   * The release files under `--data-dir`, as a pattern (`medqa/phrases_no_exclude_{split}.jsonl`);
   * it picks the reader (src/tasks/readers.ts), which defines the splits.
   */
  dataset_path: string;
  /** The subset, where a reader has them (the Pile's `meta.pile_set_name`). */
  dataset_name?: string;
  /** The split that is evaluated. */
  test_split: string;
}

export interface MultipleChoiceTaskSpec extends TaskSpecBase {
  output_type: "multiple_choice";
  /**
   * Few-shot examples come from `fewshot_split`, else `training_split`, else `validation_split`
   * (the first whose files are present), else from the evaluated split itself (current document
   * dropped). A training/validation split that is the test split is not a few-shot source of its own.
   */
  training_split?: string;
  validation_split?: string;
  fewshot_split?: string;
  fewshot_config?: {
    /** `first_n`: the first k documents (MMLU's dev examples); default: lm-eval's seeded random draw. */
    sampler?: "default" | "first_n";
    /** What follows the target delimiter in an example; default: the gold choice. */
    doc_to_target?: string;
  };
  /** Text before the whole prompt, examples included (MMLU's subject line, ending in "\n\n"). */
  description?: string;
  /** The prompt: a template (src/template.ts). */
  doc_to_text: string;
  /** The scored continuations: a fixed list, or a template of a list (`{{[opa, opb, opc, opd]}}`). */
  doc_to_choice: readonly string[] | string;
  /**
   * The gold answer: a template, or a field name. An integer (or digits) is the choice's index;
   * other text is looked up in `labels` (exactly, else trimmed, as the readers accept it).
   */
  doc_to_target: string;
  /**
   * What a text target names. Default: `doc_to_choice` when it is a fixed list, else the option
   * letters A, B, C, … (a per-document option list is named by letter, as MedQA's answer_idx).
   */
  labels?: readonly string[];
  /** Between the prompt and each choice; lm-eval's default " ". */
  target_delimiter?: string;
  /** After each few-shot example; lm-eval's default "\n\n". */
  fewshot_delimiter?: string;
  metric_list: Array<{ metric: "acc" | "acc_norm"; aggregation: "mean"; higher_is_better: true }>;
}

export interface LoglikelihoodRollingTaskSpec extends TaskSpecBase {
  output_type: "loglikelihood_rolling";
  /** lm-eval's perplexity tasks have no prompt. */
  doc_to_text: "";
  /** The text whose log-likelihood is summed over rolling windows. */
  doc_to_target: string;
  /** The single token before the first window: BOS (lm-eval ≥ 0.4.2) or EOS (BioMed-LLaMA). Not lm-eval's. */
  rolling_prefix_token: "bos" | "eos";
  /** The engine reports all three, so all three are listed. */
  metric_list: Array<{
    metric: "word_perplexity" | "byte_perplexity" | "bits_per_byte";
    aggregation: "weighted_perplexity" | "bits_per_byte";
    higher_is_better: false;
  }>;
}

export type TaskSpec = MultipleChoiceTaskSpec | LoglikelihoodRollingTaskSpec;

const PERPLEXITY_METRICS = ["word_perplexity", "byte_perplexity", "bits_per_byte"];

/**
 * A spec field's template; a syntax error names the task and the field. Where lm-eval allows it
 * (`doc_to_target`), a bare field name stands for `{{name}}`.
 */
function compile(task: string, key: string, source: string, bareField = false): Template {
  try {
    if (!bareField || source.includes("{{")) return compileTemplate(source);
    if (!/^[A-Za-z_]\w*$/.test(source))
      throw new TaskSpecError(`"${source}" is neither a field name nor a {{ }} template`);
    return compileTemplate(`{{${source}}}`);
  } catch (e) {
    if (e instanceof TaskSpecError) throw new TaskSpecError(`${task}: ${key}: ${e.message}`);
    throw e;
  }
}

/** A data error while rendering names the task and the spec field. */
function guarded<R>(task: string, key: string, fn: (doc: Doc) => R): (doc: Doc) => R {
  return (doc) => {
    try {
      return fn(doc);
    } catch (e) {
      if (e instanceof TaskDataError) throw new TaskDataError(`${task}: ${key}: ${e.message}`);
      throw e;
    }
  };
}

/** The gold index of a rendered target: lm-eval's digits-are-an-index rule, else the label's position. */
function goldIndex(target: unknown, labels: readonly string[]): number {
  if (typeof target === "number" && Number.isInteger(target)) return target;
  if (typeof target !== "string") throw new TaskDataError(`target ${JSON.stringify(target)} is not text`);
  if (/^[0-9]+$/.test(target)) return Number(target);
  const i = labels.indexOf(target);
  return i >= 0 ? i : labels.indexOf(target.trim());
}

/**
 * The spec's lm-eval fields, echoed into results' `configs` so a reader sees what was run (newlines
 * in templates shown as `\n`, as YAML writes them). Fields that results.ts writes for every
 * multiple-choice task (description, delimiters, sampler and split used, metric_list) are left to it.
 */
function echoConfig(spec: TaskSpec): Record<string, unknown> {
  const shown = (t: string) => t.replaceAll("\n", "\\n");
  const c: Record<string, unknown> = { dataset_path: spec.dataset_path };
  if (spec.dataset_name !== undefined) c.dataset_name = spec.dataset_name;
  if (spec.output_type === "loglikelihood_rolling") {
    return {
      ...c,
      test_split: spec.test_split,
      doc_to_text: shown(spec.doc_to_text),
      doc_to_target: shown(spec.doc_to_target),
      rolling_prefix_token: spec.rolling_prefix_token,
      metric_list: spec.metric_list,
    };
  }
  for (const k of ["training_split", "validation_split", "test_split", "fewshot_split"] as const)
    if (spec[k] !== undefined) c[k] = spec[k];
  if (spec.fewshot_config?.sampler) c.fewshot_config = { sampler: spec.fewshot_config.sampler };
  c.doc_to_text = shown(spec.doc_to_text);
  c.doc_to_target = shown(spec.doc_to_target);
  c.doc_to_choice =
    typeof spec.doc_to_choice === "string" ? shown(spec.doc_to_choice) : [...spec.doc_to_choice];
  if (spec.target_delimiter !== undefined) c.target_delimiter = spec.target_delimiter;
  if (spec.labels !== undefined) c.labels = [...spec.labels];
  return c;
}

/** Interpret a spec: read its dataset's splits, compile its templates, and give the engine's `TaskDef`. */
export function buildTask(spec: TaskSpec): TaskDef {
  const name = spec.task;
  const splits = datasetSplits(spec.dataset_path, spec.dataset_name);
  const needSplit = (key: string, split: string) => {
    if (!splits[split])
      throw new TaskSpecError(
        `${name}: ${key} "${split}" is not a split of ${spec.dataset_path} (${Object.keys(splits).join(", ")})`,
      );
  };
  needSplit("test_split", spec.test_split);
  const base = {
    name,
    ...(spec.aliases ? { aliases: [...spec.aliases] } : {}),
    family: spec.family,
    version: spec.metadata?.version ?? "Yaml",
    splits,
    testSplit: spec.test_split,
    config: echoConfig(spec),
  };

  if (spec.output_type === "loglikelihood_rolling") {
    const metrics = spec.metric_list.map((m) => m.metric);
    if (metrics.join() !== PERPLEXITY_METRICS.join())
      throw new TaskSpecError(
        `${name}: metric_list must be ${PERPLEXITY_METRICS.join(", ")} (what the engine reports)`,
      );
    const target = compile(name, "doc_to_target", spec.doc_to_target, true);
    const task: PerplexityTaskDef = {
      ...base,
      outputType: "loglikelihood_rolling",
      docToTarget: guarded(name, "doc_to_target", (doc) => target.render(doc)),
      prefixToken: spec.rolling_prefix_token,
    };
    return task;
  }

  const fewshotSplits = spec.fewshot_split
    ? [spec.fewshot_split]
    : [spec.training_split, spec.validation_split].filter(
        (s): s is string => s !== undefined && s !== spec.test_split,
      );
  if (fewshotSplits.length === 0) fewshotSplits.push(spec.test_split);
  for (const s of fewshotSplits) needSplit("few-shot split", s);

  const text = compile(name, "doc_to_text", spec.doc_to_text);
  const choiceList = typeof spec.doc_to_choice === "string" ? undefined : [...spec.doc_to_choice];
  const choiceTemplate =
    typeof spec.doc_to_choice === "string" ? compile(name, "doc_to_choice", spec.doc_to_choice) : undefined;
  const choices = (doc: Doc): string[] => {
    if (choiceList) return [...choiceList];
    const v = choiceTemplate?.value(doc);
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string"))
      throw new TaskDataError(`${choiceTemplate?.source} does not give a list of strings`);
    return v;
  };
  const target = compile(name, "doc_to_target", spec.doc_to_target, true);
  const labels = spec.labels ? [...spec.labels] : choiceList;
  const fewshotTarget = spec.fewshot_config?.doc_to_target
    ? compile(name, "fewshot_config.doc_to_target", spec.fewshot_config.doc_to_target, true)
    : undefined;

  const metrics = spec.metric_list.map((m) => m.metric);
  if (metrics.length === 0 || metrics.some((m) => m !== "acc" && m !== "acc_norm"))
    throw new TaskSpecError(`${name}: metric_list of a multiple_choice task holds acc and/or acc_norm`);

  const task: MultipleChoiceTaskDef = {
    ...base,
    outputType: "multiple_choice",
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    fewshotSplits,
    fewshotSampler: spec.fewshot_config?.sampler ?? "default",
    targetDelimiter: spec.target_delimiter ?? " ",
    fewshotDelimiter: spec.fewshot_delimiter ?? "\n\n",
    docToText: guarded(name, "doc_to_text", (doc) => text.render(doc)),
    docToChoice: guarded(name, "doc_to_choice", choices),
    docToTarget: guarded(name, "doc_to_target", (doc) =>
      goldIndex(target.value(doc), labels ?? optionLetters(choices(doc).length)),
    ),
    ...(fewshotTarget
      ? { fewshotTarget: guarded(name, "fewshot_config.doc_to_target", (doc) => fewshotTarget.render(doc)) }
      : {}),
    metrics,
  };
  return task;
}
