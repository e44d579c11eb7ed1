import type { MultipleChoiceTaskDef } from "../task.js";
import { MEDQA4_LETTERS as L, type MedqaDoc, medqaGold, medqaSplits } from "./medqa-data.js";

/**
 * BioMed-LLaMA's `usmleqa` (its lm-eval 0.3 fork, tasks/usmleqa.py, GBaker 4-option data):
 * only the question is shown and each option's text is scored as " <option>".
 */
export const usmleqa: MultipleChoiceTaskDef = {
  name: "usmleqa",
  family: "biomed-llama",
  outputType: "multiple_choice",
  version: 0,
  splits: medqaSplits(L),
  testSplit: "test",
  fewshotSplits: ["train"],
  fewshotSampler: "default",
  targetDelimiter: " ",
  fewshotDelimiter: "\n\n",
  docToText: (doc) => `Question: ${(doc as MedqaDoc).question}\nAnswer:`,
  docToChoice: (doc) => L.map((k) => (doc as MedqaDoc).options[k]),
  docToTarget: (doc) => medqaGold(doc, L),
  metrics: ["acc", "acc_norm"],
  config: {
    dataset_path: "medqa/phrases_no_exclude_{split}.jsonl",
    training_split: "train",
    test_split: "test",
    doc_to_text: "Question: {{question}}\\nAnswer:",
    doc_to_target: "{{answer_idx}}",
    doc_to_choice: "{{[options.A, options.B, options.C, options.D]}}",
  },
};
