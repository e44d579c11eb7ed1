import type { MultipleChoiceTaskDef } from "../task.js";
import { PUBMEDQA_LABELS, PUBMEDQA_SPLITS, pubmedqaGold, pubmedqaPrompt } from "./pubmedqa-data.js";

/** lm-eval 0.4 `pubmedqa` (tasks/pubmedqa/pubmedqa.yaml): " yes"/" no"/" maybe" after the abstract. */
export const pubmedqa: MultipleChoiceTaskDef = {
  name: "pubmedqa",
  family: "lm-eval",
  outputType: "multiple_choice",
  version: 1,
  splits: PUBMEDQA_SPLITS,
  testSplit: "test",
  fewshotSplits: ["train"],
  fewshotSampler: "default",
  targetDelimiter: " ",
  fewshotDelimiter: "\n\n",
  docToText: pubmedqaPrompt,
  docToChoice: () => [...PUBMEDQA_LABELS],
  docToTarget: pubmedqaGold,
  metrics: ["acc"],
  config: {
    dataset_path: "pubmedqa/{test_set,test_ground_truth,ori_pqal}.json",
    training_split: "train",
    test_split: "test",
    doc_to_text: 'Abstract: {{CONTEXTS | join("\\n")}}\\nQuestion: {{QUESTION}}\\nAnswer:',
    doc_to_target: "final_decision",
    doc_to_choice: [...PUBMEDQA_LABELS],
  },
};
