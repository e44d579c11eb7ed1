import { type Doc, dataPath, readJsonLines } from "../datasets.js";
import { TaskDataError } from "../errors.js";
import type { SplitSource } from "../task.js";

/** A MedMCQA record as released (JSON Lines): question, opa..opd, cop 1-4 (1 = opa). */
export interface MedmcqaDoc extends Doc {
  question: string;
  opa: string;
  opb: string;
  opc: string;
  opd: string;
  cop: number;
}

const OPTION_FIELDS = ["opa", "opb", "opc", "opd"] as const;

function split(file: string): SplitSource {
  return {
    files: [`medmcqa/${file}`],
    load: (dataDir) => {
      const path = dataPath(dataDir, "medmcqa", file);
      return readJsonLines(path).map((d, i) => {
        const where = `${path}:${i + 1}`;
        for (const f of ["question", ...OPTION_FIELDS])
          if (typeof d[f] !== "string")
            throw new TaskDataError(`${where}: field "${f}" missing or not a string`);
        if (![1, 2, 3, 4].includes(d.cop as number))
          throw new TaskDataError(
            `${where}: field "cop" must be 1-4 (the release's numbering), got ${d.cop}`,
          );
        return d as MedmcqaDoc;
      });
    },
  };
}

/** The test split's labels are hidden, so lm-eval evaluates on validation (dev.json). */
export const MEDMCQA_SPLITS = { train: split("train.json"), validation: split("dev.json") };

export const medmcqaOptions = (doc: Doc): string[] => OPTION_FIELDS.map((f) => (doc as MedmcqaDoc)[f]);

/** The release counts from 1; lm-eval's HF copy (and our index) from 0. */
export const medmcqaGold = (doc: Doc): number => (doc as MedmcqaDoc).cop - 1;
