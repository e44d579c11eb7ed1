import { type Doc, dataPath, readJsonObject, readJsonObjectEntries } from "../datasets.js";
import { TaskDataError } from "../errors.js";
import type { SplitSource } from "../task.js";

/** A PubMedQA PQA-L record as released (ori_pqal.json values), with its PMID key added. */
export interface PubmedqaDoc extends Doc {
  PMID: string;
  QUESTION: string;
  CONTEXTS: string[];
  final_decision: "yes" | "no" | "maybe";
}

export const PUBMEDQA_LABELS = ["yes", "no", "maybe"] as const;

function records(path: string, labels?: Record<string, unknown>, labelsPath?: string): PubmedqaDoc[] {
  return readJsonObjectEntries(path).map(([pmid, v]) => {
    const where = `${path}: record ${pmid}`;
    const r = v as Record<string, unknown>;
    if (!r || typeof r.QUESTION !== "string") throw new TaskDataError(`${where}: field "QUESTION" missing`);
    if (!Array.isArray(r.CONTEXTS) || !r.CONTEXTS.every((c) => typeof c === "string"))
      throw new TaskDataError(`${where}: field "CONTEXTS" must be a list of strings`);
    const label = labels ? labels[pmid] : r.final_decision;
    if (!PUBMEDQA_LABELS.includes(label as never))
      throw new TaskDataError(
        labels
          ? `${labelsPath}: no yes/no/maybe label for PMID ${pmid}`
          : `${where}: field "final_decision" must be yes/no/maybe`,
      );
    return {
      PMID: pmid,
      QUESTION: r.QUESTION,
      CONTEXTS: r.CONTEXTS as string[],
      final_decision: label as PubmedqaDoc["final_decision"],
    };
  });
}

/** The official 500-item test split: full records in test_set.json, labels in test_ground_truth.json. */
const test: SplitSource = {
  files: ["pubmedqa/test_set.json", "pubmedqa/test_ground_truth.json"],
  load: (dataDir) => {
    const gtPath = dataPath(dataDir, "pubmedqa", "test_ground_truth.json");
    return records(dataPath(dataDir, "pubmedqa", "test_set.json"), readJsonObject(gtPath), gtPath);
  },
};

/** All 1000 expert-labelled PQA-L items (what BioMed-LLaMA's harness scored). */
const all: SplitSource = {
  files: ["pubmedqa/ori_pqal.json"],
  load: (dataDir) => records(dataPath(dataDir, "pubmedqa", "ori_pqal.json")),
};

/**
 * PQA-L items outside the test split (the 500 that bigbio's fold0 divides into train 450 +
 * validation 50; the fold assignment is not in the release, so both together serve as "train").
 */
const train: SplitSource = {
  files: ["pubmedqa/ori_pqal.json", "pubmedqa/test_ground_truth.json"],
  load: (dataDir) => {
    const testIds = new Set(
      Object.keys(readJsonObject(dataPath(dataDir, "pubmedqa", "test_ground_truth.json"))),
    );
    return records(dataPath(dataDir, "pubmedqa", "ori_pqal.json")).filter((d) => !testIds.has(d.PMID));
  },
};

export const PUBMEDQA_SPLITS = { train, test, all };

export function pubmedqaPrompt(doc: Doc): string {
  const d = doc as PubmedqaDoc;
  return `Abstract: ${d.CONTEXTS.join("\n")}\nQuestion: ${d.QUESTION}\nAnswer:`;
}

export const pubmedqaGold = (doc: Doc): number =>
  PUBMEDQA_LABELS.indexOf((doc as PubmedqaDoc).final_decision);
