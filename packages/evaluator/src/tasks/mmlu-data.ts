import { dataPath, readMmluCsv } from "../datasets.js";
import { TaskDataError } from "../errors.js";
import type { SplitSource } from "../task.js";

const LETTERS = ["A", "B", "C", "D"];

/** `mmlu_medical/<dev|test>/<subject>_<dev|test>.csv` (header-less: question, A-D, answer letter). */
function split(subject: string, name: "dev" | "test"): SplitSource {
  const file = `${subject}_${name}.csv`;
  return {
    files: [`mmlu_medical/${name}/${file}`],
    load: (dataDir) => {
      const path = dataPath(dataDir, "mmlu_medical", name, file);
      return readMmluCsv(path).map((d, i) => {
        if (!LETTERS.includes(d.answer as string))
          throw new TaskDataError(
            `${path}:${i + 1}: answer column must be A-D, got ${JSON.stringify(d.answer)}`,
          );
        return d;
      });
    },
  };
}

/** One MMLU subject's splits: `dev` (5 items, lm-eval's few-shot source) and `test`. */
export function mmluSplits(subject: string): Record<string, SplitSource> {
  return { dev: split(subject, "dev"), test: split(subject, "test") };
}
