import { readFileSync } from "node:fs";
import {
  type Checked,
  checkJsonLines,
  checkMedmcqa,
  checkMedqa,
  checkPubmedqa,
  medmcqaGold,
  medmcqaOptions,
  medqaGold,
  medqaLetters,
  PUBMEDQA_LABELS,
  parseJsonObjectEntries,
  pubmedqaContext,
  pubmedqaGold,
  type Rejection,
} from "@biomed-llama/medical-qa";
import { DataFormatError } from "./errors.js";

/** One multiple-choice QA example, whatever file it came from. */
export interface McqaSample {
  question: string;
  options: string[];
  /** Index into options of the correct answer. */
  answerIndex: number;
  /** PubMedQA's abstract (CONTEXTS joined by newlines); absent for MedQA / MedMCQA. */
  context?: string;
  id?: string;
}

export type McqaTask = "medqa" | "medmcqa" | "pubmedqa";

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new DataFormatError(`${path}: cannot read: ${(e as Error).message}`);
  }
}

/** The trainer's wording of a rejection; a bad cop keeps the message it has always had. */
function failure(where: string, bad: Rejection): DataFormatError {
  const reason =
    bad.field === "cop" ? `field "cop" must be 1..4 (1 = opa), got ${JSON.stringify(bad.got)}` : bad.reason;
  return new DataFormatError(`${where}: ${reason}`);
}

/** Every record of a JSON Lines release file; the first bad line throws, naming file and line. */
function jsonLineRecords<T>(path: string, check: (value: unknown) => Checked<T>): T[] {
  return checkJsonLines(readText(path), check).map((r) => {
    if (!r.ok) throw failure(`${path}:${r.line}`, r);
    return r.record;
  });
}

/**
 * MedQA-USMLE JSONL as released (`data_clean/questions/US/*.jsonl`): question, options {A: …, B: …},
 * answer_idx (the option letter) and answer (its text). The 4- and 5-option files both read.
 */
export function readMedqa(path: string): McqaSample[] {
  return jsonLineRecords(path, (v) => checkMedqa(v)).map((r) => {
    const letters = medqaLetters(r);
    return {
      question: r.question,
      options: letters.map((k) => r.options[k]),
      answerIndex: medqaGold(r, letters),
    };
  });
}

/** MedMCQA JSONL as released (train.json / dev.json): question, opa..opd, cop 1..4 (1 = opa). */
export function readMedmcqa(path: string): McqaSample[] {
  return jsonLineRecords(path, (v) => checkMedmcqa(v)).map((r) => ({
    question: r.question,
    options: medmcqaOptions(r),
    answerIndex: medmcqaGold(r),
    id: typeof r.id === "string" ? r.id : undefined,
  }));
}

/**
 * PubMedQA JSON as released (ori_pqal.json, pqa_artificial): an object keyed by PMID with QUESTION,
 * CONTEXTS[] and final_decision (yes/no/maybe), read in file order (the order the seed saw).
 * Options are always yes/no/maybe, as in the seed.
 */
export function readPubmedqa(path: string): McqaSample[] {
  const parsed = parseJsonObjectEntries(readText(path));
  if (!parsed.ok)
    throw new DataFormatError(`${path}: ${parsed.reason}${parsed.notObject ? " keyed by PMID" : ""}`);
  return parsed.entries.map(([pmid, value]) => {
    const c = checkPubmedqa(pmid, value);
    if (!c.ok) throw failure(`${path}: PMID ${pmid}`, c);
    return {
      question: c.record.QUESTION,
      options: [...PUBMEDQA_LABELS],
      answerIndex: pubmedqaGold(c.record),
      context: pubmedqaContext(c.record.CONTEXTS),
      id: pmid,
    };
  });
}

export function readMcqa(task: McqaTask, path: string): McqaSample[] {
  switch (task) {
    case "medqa":
      return readMedqa(path);
    case "medmcqa":
      return readMedmcqa(path);
    case "pubmedqa":
      return readPubmedqa(path);
  }
}
