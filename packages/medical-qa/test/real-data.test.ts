// The real releases, where ../shared/data exists next to the repository (CI has it; users do not).
// Expected numbers come from SOURCES.md and from a Python pass over the files (Python's json keeps
// file order), not from this package.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import {
  checkJsonLines,
  checkMedmcqa,
  checkMedqa,
  checkPubmedqa,
  checkPubmedqaQuestion,
  MEDQA4_LETTERS,
  MEDQA5_LETTERS,
  medmcqaGold,
  medqaGold,
  parseJsonObjectEntries,
  pubmedqaGold,
} from "../src/index.js";

const repoRoot = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const shared = resolve(repoRoot, "../shared/data");
const present = existsSync(shared);
if (!present) console.warn(`real-data tests skipped: ${shared} does not exist (it is only on CI machines)`);
const read = (f: string) => readFileSync(join(shared, f), "utf8");

const counts = (xs: (string | number)[]) => {
  const c: Record<string, number> = {};
  for (const x of xs) c[x] = (c[x] ?? 0) + 1;
  return c;
};

function entries(f: string): Array<[string, unknown]> {
  const parsed = parseJsonObjectEntries(read(f));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.entries;
}

describe.skipIf(!present)("real releases in ../shared/data", () => {
  test("MedQA US test, 5 options: 1273 records, every rule set passes them, golds A-E = 273/277/252/269/202", () => {
    const text = read("medqa/test.jsonl");
    for (const rules of [
      {},
      { letters: MEDQA5_LETTERS, trimAnswerIdx: true },
      { nonBlank: true, answerMatches: true },
    ]) {
      const r = checkJsonLines(text, (v) => checkMedqa(v, rules));
      expect(r.filter((x) => !x.ok)).toEqual([]);
      expect(r).toHaveLength(1273);
    }
    const golds = checkJsonLines(text, (v) => checkMedqa(v)).map((x) => (x.ok ? medqaGold(x.record) : -1));
    expect(counts(golds)).toEqual({ 0: 273, 1: 277, 2: 252, 3: 269, 4: 202 });
  });

  test("MedQA 4-option file against lm-eval's A-D: 1273 records, golds 353/309/346/265", () => {
    const r = checkJsonLines(read("medqa/phrases_no_exclude_test.jsonl"), (v) =>
      checkMedqa(v, { letters: MEDQA4_LETTERS, trimAnswerIdx: true }),
    );
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(counts(r.map((x) => (x.ok ? medqaGold(x.record, MEDQA4_LETTERS) : -1)))).toEqual({
      0: 353,
      1: 309,
      2: 346,
      3: 265,
    });
  });

  test("MedMCQA dev (JSON Lines): 4183 records, cop 1..4 → golds 1348/1085/925/825", () => {
    const r = checkJsonLines(read("medmcqa/dev.json"), (v) => checkMedmcqa(v, { nonBlank: true }));
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(counts(r.map((x) => (x.ok ? medmcqaGold(x.record) : -1)))).toEqual({
      0: 1348,
      1: 1085,
      2: 925,
      3: 825,
    });
  });

  test("PubMedQA PQA-L: 1000 records in file order (21645374 first, 17559449 last), yes 552 / no 338 / maybe 110", () => {
    const rs = entries("pubmedqa/ori_pqal.json").map(([pmid, v]) =>
      checkPubmedqa(pmid, v, { nonBlank: true }),
    );
    expect(rs.filter((x) => !x.ok)).toEqual([]);
    const pmids = rs.map((x) => (x.ok ? x.record.PMID : ""));
    expect(pmids.slice(0, 3)).toEqual(["21645374", "16418930", "9488747"]);
    expect(pmids[999]).toBe("17559449");
    expect(counts(rs.map((x) => (x.ok ? pubmedqaGold(x.record) : -1)))).toEqual({ 0: 552, 1: 338, 2: 110 });
  });

  test("PubMedQA official test split: test_set.json and test_ground_truth.json list the same 500 PMIDs in the same order", () => {
    const set = entries("pubmedqa/test_set.json");
    const truth = entries("pubmedqa/test_ground_truth.json");
    expect(set.map(([k]) => k)).toEqual(truth.map(([k]) => k));
    expect(set.slice(0, 3).map(([k]) => k)).toEqual(["12377809", "26163474", "19100463"]);
    expect(set.every(([pmid, v]) => checkPubmedqaQuestion(pmid, v).ok)).toBe(true);
    expect(counts(truth.map(([, label]) => label as string))).toEqual({ yes: 276, no: 169, maybe: 55 });
  });
});
