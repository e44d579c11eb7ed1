import {
  checkPubmedqa,
  checkPubmedqaQuestion,
  type PubmedqaLabel,
  pubmedqaLabel,
} from "@biomed-llama/medical-qa";
import { type Doc, dataPath, readJsonObject, readJsonObjectEntries } from "../datasets.js";
import { TaskDataError } from "../errors.js";
import type { SplitSource } from "../task.js";

/** A PubMedQA PQA-L record as released (ori_pqal.json values), with its PMID key added. */
export interface PubmedqaDoc extends Doc {
  PMID: string;
  QUESTION: string;
  CONTEXTS: string[];
  final_decision: PubmedqaLabel;
}

/** The records of a PMID-keyed file in file order; the label from `labels` (a PMID → label file) when given. */
function records(path: string, labels?: Record<string, unknown>, labelsPath?: string): PubmedqaDoc[] {
  return readJsonObjectEntries(path).map(([pmid, v]) => {
    const c = labels ? checkPubmedqaQuestion(pmid, v) : checkPubmedqa(pmid, v);
    if (!c.ok) throw new TaskDataError(`${path}: record ${pmid}: ${c.reason}`);
    const label = labels ? pubmedqaLabel(labels[pmid]) : (c.record.final_decision as PubmedqaLabel);
    if (!label) throw new TaskDataError(`${labelsPath}: no yes/no/maybe label for PMID ${pmid}`);
    return { PMID: pmid, QUESTION: c.record.QUESTION, CONTEXTS: c.record.CONTEXTS, final_decision: label };
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
