import type { TaskSpec } from "../task-spec.js";

/** lm-eval 0.4 `pubmedqa` (tasks/pubmedqa/pubmedqa.yaml): " yes"/" no"/" maybe" after the abstract. */
export const pubmedqa: TaskSpec = {
  task: "pubmedqa",
  family: "lm-eval",
  metadata: { version: 1 },
  dataset_path: "pubmedqa/{test_set,test_ground_truth,ori_pqal}.json",
  training_split: "train",
  test_split: "test",
  output_type: "multiple_choice",
  doc_to_text: 'Abstract: {{CONTEXTS | join("\\n")}}\nQuestion: {{QUESTION}}\nAnswer:',
  doc_to_choice: ["yes", "no", "maybe"],
  doc_to_target: "final_decision",
  metric_list: [{ metric: "acc", aggregation: "mean", higher_is_better: true }],
};
