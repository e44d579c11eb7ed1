import type { MultipleChoiceTaskDef } from "../task.js";
import {
  PUBMEDQA_LABELS,
  PUBMEDQA_SPLITS,
  type PubmedqaDoc,
  pubmedqaGold,
  pubmedqaPrompt,
} from "./pubmedqa-data.js";

/**
 * BioMed-LLaMA's `pubmedqa` (its lm-eval 0.3 fork, tasks/pubmedqa.py): all 1000 PQA-L items,
 * "Yes"/"No"/"Maybe" scored directly after "Answer:" (no space), acc only. That Task had no
 * train/validation docs, so few-shot examples come from the same 1000 items (the current one
 * excluded) and are written with its `doc_to_target`, " yes"/" no"/" maybe".
 */
export const pubmedqa_biomedllama: MultipleChoiceTaskDef = {
  name: "pubmedqa_biomedllama",
  family: "biomed-llama",
  outputType: "multiple_choice",
  version: 0,
  splits: { all: PUBMEDQA_SPLITS.all },
  testSplit: "all",
  fewshotSplits: ["all"],
  fewshotSampler: "default",
  targetDelimiter: "",
  fewshotDelimiter: "\n\n",
  docToText: pubmedqaPrompt,
  docToChoice: () => ["Yes", "No", "Maybe"],
  docToTarget: pubmedqaGold,
  fewshotTarget: (doc) => ` ${(doc as PubmedqaDoc).final_decision}`,
  metrics: ["acc"],
  config: {
    dataset_path: "pubmedqa/ori_pqal.json",
    test_split: "all",
    doc_to_text: 'Abstract: {{CONTEXTS | join("\\n")}}\\nQuestion: {{QUESTION}}\\nAnswer:',
    doc_to_target: "final_decision",
    doc_to_choice: ["Yes", "No", "Maybe"],
    target_delimiter: "",
    labels: [...PUBMEDQA_LABELS],
  },
};
