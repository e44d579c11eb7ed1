import { MEDQA4_LETTERS, MEDQA5_LETTERS } from "@biomed-llama/medical-qa";
import { TaskSpecError } from "../errors.js";
import type { SplitSource } from "../task.js";
import { MEDMCQA_SPLITS } from "./medmcqa-data.js";
import { medqaSplits } from "./medqa-data.js";
import { mmluSplits } from "./mmlu-data.js";
import { pileSplit } from "./pile-data.js";
import { PUBMEDQA_SPLITS } from "./pubmedqa-data.js";

type Splits = Record<string, SplitSource>;

/**
 * The data a spec's `dataset_path` (and `dataset_name`) names, as lm-eval's pair names a Hugging
 * Face dataset: here a layout of release files under `--data-dir`, read and checked by this
 * folder's readers. A path is written as the files it covers, so results show where data came from.
 */
const DATASETS: Array<{
  path: string;
  pattern: RegExp;
  splits: (m: RegExpExecArray, name?: string) => Splits;
}> = [
  {
    path: "medqa/phrases_no_exclude_{split}.jsonl",
    pattern: /^medqa\/phrases_no_exclude_\{split\}\.jsonl$/,
    splits: () => medqaSplits(MEDQA4_LETTERS),
  },
  {
    path: "medqa/{split}.jsonl",
    pattern: /^medqa\/\{split\}\.jsonl$/,
    splits: () => medqaSplits(MEDQA5_LETTERS),
  },
  {
    path: "medmcqa/{dev,train}.json",
    pattern: /^medmcqa\/\{dev,train\}\.json$/,
    splits: () => MEDMCQA_SPLITS,
  },
  {
    // lm-eval's splits: the official test set, PQA-L minus it as train (and all of PQA-L).
    path: "pubmedqa/{test_set,test_ground_truth,ori_pqal}.json",
    pattern: /^pubmedqa\/\{test_set,test_ground_truth,ori_pqal\}\.json$/,
    splits: () => PUBMEDQA_SPLITS,
  },
  {
    // BioMed-LLaMA's: the 1000 PQA-L items and nothing else.
    path: "pubmedqa/ori_pqal.json",
    pattern: /^pubmedqa\/ori_pqal\.json$/,
    splits: () => ({ all: PUBMEDQA_SPLITS.all }),
  },
  {
    path: "mmlu_medical/{dev,test}/<subject>_{split}.csv",
    pattern: /^mmlu_medical\/\{dev,test\}\/([a-z_]+)_\{split\}\.csv$/,
    splits: (m) => mmluSplits(m[1]),
  },
  {
    path: "pile/{test,val}.jsonl.zst (dataset_name: the meta.pile_set_name)",
    pattern: /^pile\/\{test,val\}\.jsonl\.zst$/,
    splits: (_, name) => {
      if (!name)
        throw new TaskSpecError("pile/{test,val}.jsonl.zst needs a dataset_name (a meta.pile_set_name)");
      return { test: pileSplit("test", name), validation: pileSplit("val", name) };
    },
  },
];

/** The splits behind `dataset_path` (+ `dataset_name`); an unknown path names the known ones. */
export function datasetSplits(path: string, name?: string): Splits {
  for (const d of DATASETS) {
    const m = d.pattern.exec(path);
    if (m) return d.splits(m, name);
  }
  throw new TaskSpecError(
    `dataset_path "${path}" has no reader (known: ${DATASETS.map((d) => d.path).join(", ")}); add one in src/tasks/readers.ts`,
  );
}
