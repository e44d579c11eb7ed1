import type { TaskSpec } from "../task-spec.js";

/** The six MMLU subjects the medical evaluations use. */
export const MMLU_MEDICAL_SUBJECTS = [
  "anatomy",
  "clinical_knowledge",
  "college_biology",
  "college_medicine",
  "medical_genetics",
  "professional_medicine",
] as const;

/**
 * lm-eval 0.4 `mmlu_<subject>` (tasks/mmlu/default/_default_template_yaml, one YAML per subject
 * from _generate_configs.py): the subject description, then `question.strip()` with lettered
 * choices; few-shot = the first k dev items.
 */
function mmluSpec(subject: string): TaskSpec {
  return {
    task: `mmlu_${subject}`,
    aliases: [`mmlu_medical_${subject}`],
    family: "lm-eval",
    metadata: { version: 1 },
    dataset_path: `mmlu_medical/{dev,test}/${subject}_{split}.csv`,
    test_split: "test",
    fewshot_split: "dev",
    fewshot_config: { sampler: "first_n" },
    output_type: "multiple_choice",
    description: `The following are multiple choice questions (with answers) about ${subject.replaceAll("_", " ")}.\n\n`,
    doc_to_text:
      "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:",
    doc_to_choice: ["A", "B", "C", "D"],
    doc_to_target: "answer",
    metric_list: [{ metric: "acc", aggregation: "mean", higher_is_better: true }],
  };
}

export const mmluMedicalSpecs: TaskSpec[] = MMLU_MEDICAL_SUBJECTS.map(mmluSpec);
