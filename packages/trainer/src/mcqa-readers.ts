import { readFileSync } from "node:fs";
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

function jsonLines(path: string): { line: number; rec: Record<string, unknown> }[] {
  const out: { line: number; rec: Record<string, unknown> }[] = [];
  const lines = readText(path).split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    let rec: unknown;
    try {
      rec = JSON.parse(lines[i]);
    } catch (e) {
      throw new DataFormatError(`${path}:${i + 1}: not valid JSON: ${(e as Error).message}`);
    }
    if (typeof rec !== "object" || rec === null || Array.isArray(rec))
      throw new DataFormatError(`${path}:${i + 1}: expected a JSON object per line`);
    out.push({ line: i + 1, rec: rec as Record<string, unknown> });
  }
  return out;
}

function str(rec: Record<string, unknown>, key: string, where: string): string {
  const v = rec[key];
  if (typeof v !== "string") throw new DataFormatError(`${where}: field "${key}" must be a string`);
  return v;
}

/**
 * MedQA-USMLE JSONL as released (`data_clean/questions/US/*.jsonl`): question, options {A: …, B: …},
 * answer_idx (the option letter) and answer (its text). The 4- and 5-option files both read.
 */
export function readMedqa(path: string): McqaSample[] {
  return jsonLines(path).map(({ line, rec }) => {
    const where = `${path}:${line}`;
    const question = str(rec, "question", where);
    const opts = rec.options;
    if (typeof opts !== "object" || opts === null || Array.isArray(opts))
      throw new DataFormatError(`${where}: field "options" must be an object {A: ..., B: ...}`);
    const letters = Object.keys(opts).sort();
    const options = letters.map((k) => {
      const v = (opts as Record<string, unknown>)[k];
      if (typeof v !== "string") throw new DataFormatError(`${where}: options.${k} must be a string`);
      return v;
    });
    const idx = str(rec, "answer_idx", where);
    const answerIndex = letters.indexOf(idx);
    if (answerIndex < 0)
      throw new DataFormatError(`${where}: answer_idx "${idx}" is not one of ${letters.join(",")}`);
    return { question, options, answerIndex };
  });
}

/** MedMCQA JSONL as released (train.json / dev.json): question, opa..opd, cop 1..4 (1 = opa). */
export function readMedmcqa(path: string): McqaSample[] {
  return jsonLines(path).map(({ line, rec }) => {
    const where = `${path}:${line}`;
    const options = ["opa", "opb", "opc", "opd"].map((k) => str(rec, k, where));
    const cop = rec.cop;
    if (typeof cop !== "number" || !Number.isInteger(cop) || cop < 1 || cop > 4)
      throw new DataFormatError(`${where}: field "cop" must be 1..4 (1 = opa), got ${JSON.stringify(cop)}`);
    return {
      question: str(rec, "question", where),
      options,
      answerIndex: cop - 1,
      id: typeof rec.id === "string" ? rec.id : undefined,
    };
  });
}

/**
 * Keys of the top-level JSON object in the order they appear in the text. JS objects list
 * integer-like keys (PMIDs) in numeric order, Python dicts in file order; the file order is the
 * one the seed saw, so it is recovered here with a string-aware scan.
 */
function topLevelKeysInFileOrder(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)));
      expectKey = false;
      i = j;
    } else if (c === "{" || c === "[") {
      depth++;
      expectKey = depth === 1 && c === "{";
    } else if (c === "}" || c === "]") depth--;
    else if (c === "," && depth === 1) expectKey = true;
  }
  return keys;
}

const PUBMEDQA_OPTIONS = ["yes", "no", "maybe"];

/**
 * PubMedQA JSON as released (ori_pqal.json, pqa_artificial): an object keyed by PMID with QUESTION,
 * CONTEXTS[] and final_decision (yes/no/maybe). Options are always yes/no/maybe, as in the seed.
 */
export function readPubmedqa(path: string): McqaSample[] {
  let data: unknown;
  const text = readText(path);
  try {
    data = JSON.parse(text);
  } catch (e) {
    if (e instanceof DataFormatError) throw e;
    throw new DataFormatError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data))
    throw new DataFormatError(`${path}: expected an object keyed by PMID`);
  const byPmid = data as Record<string, Record<string, unknown>>;
  return topLevelKeysInFileOrder(text).map((pmid) => {
    const rec = byPmid[pmid];
    const where = `${path}: PMID ${pmid}`;
    if (typeof rec !== "object" || rec === null) throw new DataFormatError(`${where}: expected an object`);
    const ctx = rec.CONTEXTS;
    if (!Array.isArray(ctx) || ctx.some((c) => typeof c !== "string"))
      throw new DataFormatError(`${where}: field "CONTEXTS" must be an array of strings`);
    const decision = str(rec, "final_decision", where);
    const answerIndex = PUBMEDQA_OPTIONS.indexOf(decision);
    if (answerIndex < 0)
      throw new DataFormatError(`${where}: final_decision "${decision}" is not yes/no/maybe`);
    return {
      question: str(rec, "QUESTION", where),
      options: [...PUBMEDQA_OPTIONS],
      answerIndex,
      context: (ctx as string[]).join("\n"),
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
