import { type Doc, dataPath, readMmluCsv } from "../datasets.js";
import { pythonStrip } from "../encode-pair.js";
import { TaskDataError } from "../errors.js";
import type { MultipleChoiceTaskDef, SplitSource } from "../task.js";

/** The six MMLU subjects the medical evaluations use. */
export const MMLU_MEDICAL_SUBJECTS = [
  "anatomy",
  "clinical_knowledge",
  "college_biology",
  "college_medicine",
  "medical_genetics",
  "professional_medicine",
] as const;

const L = ["A", "B", "C", "D"];

function split(subject: string, name: "dev" | "test"): SplitSource {
  const file = `${subject}_${name}.csv`;
  return {
    files: [`mmlu_medical/${name}/${file}`],
    load: (dataDir) => {
      const path = dataPath(dataDir, "mmlu_medical", name, file);
      return readMmluCsv(path).map((d, i) => {
        if (!L.includes(d.answer as string))
          throw new TaskDataError(
            `${path}:${i + 1}: answer column must be A-D, got ${JSON.stringify(d.answer)}`,
          );
        return d;
      });
    },
  };
}

/**
 * lm-eval 0.4 `mmlu_<subject>` (tasks/mmlu/default/_default_template_yaml): the subject
 * description, then `question.strip()` with lettered choices; few-shot = the first k dev items.
 */
function mmluTask(subject: string): MultipleChoiceTaskDef {
  return {
    name: `mmlu_${subject}`,
    aliases: [`mmlu_medical_${subject}`],
    family: "lm-eval",
    outputType: "multiple_choice",
    version: 1,
    splits: { dev: split(subject, "dev"), test: split(subject, "test") },
    testSplit: "test",
    description: `The following are multiple choice questions (with answers) about ${subject.replaceAll("_", " ")}.\n\n`,
    fewshotSplits: ["dev"],
    fewshotSampler: "first_n",
    targetDelimiter: " ",
    fewshotDelimiter: "\n\n",
    docToText: (doc: Doc) => {
      const c = doc.choices as string[];
      return `${pythonStrip(doc.question as string)}\nA. ${c[0]}\nB. ${c[1]}\nC. ${c[2]}\nD. ${c[3]}\nAnswer:`;
    },
    docToChoice: () => L,
    docToTarget: (doc: Doc) => L.indexOf(doc.answer as string),
    metrics: ["acc"],
    config: {
      dataset_path: `mmlu_medical/{dev,test}/${subject}_{split}.csv`,
      test_split: "test",
      fewshot_split: "dev",
      fewshot_config: { sampler: "first_n" },
      doc_to_text:
        "{{question.strip()}}\\nA. {{choices[0]}}\\nB. {{choices[1]}}\\nC. {{choices[2]}}\\nD. {{choices[3]}}\\nAnswer:",
      doc_to_target: "answer",
      doc_to_choice: L,
    },
  };
}

export const mmluMedicalTasks: MultipleChoiceTaskDef[] = MMLU_MEDICAL_SUBJECTS.map(mmluTask);
