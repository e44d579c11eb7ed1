import type { TaskSpec } from "../task-spec.js";

/**
 * lm-eval 0.4 `medmcqa` (tasks/medmcqa/medmcqa.yaml + utils_medmcqa.doc_to_text). The test split's
 * labels are hidden, so validation (dev.json) is evaluated; the release's `cop` counts from 1.
 */
export const medmcqa: TaskSpec = {
  task: "medmcqa",
  family: "lm-eval",
  dataset_path: "medmcqa/{dev,train}.json",
  training_split: "train",
  validation_split: "validation",
  test_split: "validation",
  output_type: "multiple_choice",
  doc_to_text: "Question: {{question}}\nChoices:\nA. {{opa}}\nB. {{opb}}\nC. {{opc}}\nD. {{opd}}\nAnswer:",
  doc_to_choice: ["A", "B", "C", "D"],
  doc_to_target: "{{cop - 1}}",
  metric_list: [
    { metric: "acc", aggregation: "mean", higher_is_better: true },
    { metric: "acc_norm", aggregation: "mean", higher_is_better: true },
  ],
};
