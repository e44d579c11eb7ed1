import {
  checkMedmcqa,
  medmcqaGold as goldIndex,
  type MedmcqaRecord,
  medmcqaOptions as optionTexts,
} from "@biomed-llama/medical-qa";
import { type Doc, dataPath, readCheckedLines } from "../datasets.js";
import type { SplitSource } from "../task.js";

/** A MedMCQA record as released (JSON Lines): question, opa..opd, cop 1-4 (1 = opa). */
export type MedmcqaDoc = MedmcqaRecord;

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

export const medmcqaOptions = (doc: Doc): string[] => optionTexts(doc as MedmcqaDoc);

/** The release counts from 1; lm-eval's HF copy (and our index) from 0. */
export const medmcqaGold = (doc: Doc): number => goldIndex(doc as MedmcqaDoc);
