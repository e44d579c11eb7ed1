import { checkMedmcqa } from "@biomed-llama/medical-qa";
import { dataPath, readCheckedLines } from "../datasets.js";
import type { SplitSource } from "../task.js";

function split(file: string): SplitSource {
  return {
    files: [`medmcqa/${file}`],
    load: (dataDir) =>
      readCheckedLines(
        dataPath(dataDir, "medmcqa", file),
        (v) => checkMedmcqa(v),
        (bad) =>
          // The evaluator's wording of a bad cop since 0.1.
          bad.field === "cop"
            ? `field "cop" must be 1-4 (the release's numbering), got ${bad.got}`
            : bad.reason,
      ),
  };
}

/** The test split's labels are hidden, so lm-eval evaluates on validation (dev.json). */
export const MEDMCQA_SPLITS = { train: split("train.json"), validation: split("dev.json") };
