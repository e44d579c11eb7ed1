import type { MultipleChoiceTaskDef } from "../task.js";
import { MEDMCQA_SPLITS, type MedmcqaDoc, medmcqaGold, medmcqaOptions } from "./medmcqa-data.js";

const L = ["A", "B", "C", "D"];

/** lm-eval 0.4 `medmcqa` (tasks/medmcqa/medmcqa.yaml + utils_medmcqa.doc_to_text). */
export const medmcqa: MultipleChoiceTaskDef = {
  name: "medmcqa",
  family: "lm-eval",
  outputType: "multiple_choice",
  version: "Yaml",
  splits: MEDMCQA_SPLITS,
  testSplit: "validation",
  fewshotSplits: ["train"],
  fewshotSampler: "default",
  targetDelimiter: " ",
  fewshotDelimiter: "\n\n",
  docToText: (doc) => {
    const opts = medmcqaOptions(doc);
    let prompt = `Question: ${(doc as MedmcqaDoc).question}\nChoices:\n`;
    L.forEach((l, i) => {
      prompt += `${l}. ${opts[i]}\n`;
    });
    return `${prompt}Answer:`;
  },
  docToChoice: () => L,
  docToTarget: medmcqaGold,
  metrics: ["acc", "acc_norm"],
  config: {
    dataset_path: "medmcqa/{dev,train}.json",
    training_split: "train",
    validation_split: "validation",
    test_split: "validation",
    doc_to_text:
      "Question: {{question}}\\nChoices:\\nA. {{opa}}\\nB. {{opb}}\\nC. {{opc}}\\nD. {{opd}}\\nAnswer:",
    doc_to_target: "{{cop - 1}}",
    doc_to_choice: L,
  },
};
