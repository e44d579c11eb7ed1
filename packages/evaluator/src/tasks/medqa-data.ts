import { checkMedqa } from "@biomed-llama/medical-qa";
import { dataPath, readCheckedLines } from "../datasets.js";
import type { SplitSource } from "../task.js";

/** Split files of the release: 4-option files are `phrases_no_exclude_<split>.jsonl`, 5-option `<split>.jsonl`. */
export function medqaSplit(file: string, letters: readonly string[]): SplitSource {
  return {
    files: [`medqa/${file}`],
    load: (dataDir) =>
      readCheckedLines(dataPath(dataDir, "medqa", file), (v) =>
        checkMedqa(v, { letters, trimAnswerIdx: true }),
      ),
  };
}

export function medqaSplits(letters: readonly string[]): Record<string, SplitSource> {
  const prefix = letters.length === 4 ? "phrases_no_exclude_" : "";
  return {
    train: medqaSplit(`${prefix}train.jsonl`, letters),
    validation: medqaSplit(`${prefix}dev.jsonl`, letters),
    test: medqaSplit(`${prefix}test.jsonl`, letters),
  };
}
