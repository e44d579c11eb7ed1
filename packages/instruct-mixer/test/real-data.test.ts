// The real MedQA / MedMCQA / PubMedQA / MMLU-CoT files, where ../shared/data exists next to the
// repository (CI has it; users do not). Expected counts are the releases' own, from SOURCES.md
// and from a Python pass over the files, not from this package.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { loadMedMCQA, loadMedQA, loadMmluCot, loadPubMedQA } from "../src/index.js";

const repoRoot = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const shared = resolve(repoRoot, "../shared/data");
const present = existsSync(shared);
if (!present) console.warn(`real-data tests skipped: ${shared} does not exist (it is only on CI machines)`);

const letterCounts = (outputs: string[]) => {
  const c: Record<string, number> = {};
  for (const o of outputs) c[o[1]] = (c[o[1]] ?? 0) + 1;
  return c;
};

describe.skipIf(!present)("real upstream files in ../shared/data", () => {
  test("MedQA US test, 5 options: 1273 questions, answers agree with answer_idx", () => {
    const file = join(shared, "medqa/test.jsonl");
    const r = loadMedQA(file);
    expect(r.malformed).toEqual([]);
    expect(r.records).toHaveLength(1273);
    // independent count straight from the file
    const raw = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const expected: Record<string, number> = {};
    for (const q of raw) expected[q.answer_idx] = (expected[q.answer_idx] ?? 0) + 1;
    expect(letterCounts(r.records.map((x) => x.output))).toEqual(expected);
    expect(r.records.map((x) => x.output)).toEqual(raw.map((q) => `(${q.answer_idx}) ${q.answer.trim()}`));
  });

  test("MedQA US 4-option file: 1273 questions with options A-D", () => {
    const r = loadMedQA(join(shared, "medqa/phrases_no_exclude_test.jsonl"));
    expect(r.records).toHaveLength(1273);
    expect(r.malformed).toEqual([]);
    expect(r.records.every((x) => x.input.includes("\n(D) ") && !x.input.includes("\n(E) "))).toBe(true);
  });

  test("MedMCQA dev (JSON lines): 4183 questions, cop 1..4 → A..D = 1348/1085/925/825", () => {
    const r = loadMedMCQA(join(shared, "medmcqa/dev.json"));
    expect(r.malformed).toEqual([]);
    expect(r.records).toHaveLength(4183);
    expect(letterCounts(r.records.map((x) => x.output))).toEqual({ A: 1348, B: 1085, C: 925, D: 825 });
  });

  test("PubMedQA PQA-L: 1000 records, yes 552 / no 338 / maybe 110, in file order", () => {
    const r = loadPubMedQA(join(shared, "pubmedqa/ori_pqal.json"));
    expect(r.malformed).toEqual([]);
    expect(r.records).toHaveLength(1000);
    const counts: Record<string, number> = {};
    for (const x of r.records) counts[x.output] = (counts[x.output] ?? 0) + 1;
    expect(counts).toEqual({ "(A) yes": 552, "(B) no": 338, "(C) maybe": 110 });
    // the file starts with PMID 21645374 (a "yes"), which numeric key order would not put first
    expect(r.records[0].input).toContain("Do mitochondria play a role in remodelling lace plant leaves");
  });

  test("PubMedQA official test split: 500 records, yes 276 / no 169 / maybe 55", () => {
    const r = loadPubMedQA(join(shared, "pubmedqa/test_set.json"));
    expect(r.records).toHaveLength(500);
    const yes = r.records.filter((x) => x.output === "(A) yes").length;
    const no = r.records.filter((x) => x.output === "(B) no").length;
    expect([yes, no, 500 - yes - no]).toEqual([276, 169, 55]);
  });

  test("mmlu-cot.json splits into the README's 282 worked examples over 57 subjects", () => {
    const r = loadMmluCot(join(shared, "cot_prompts/mmlu-cot.json"));
    expect(r.malformed).toEqual([]);
    expect(r.records).toHaveLength(282);
    expect(new Set(r.records.map((x) => x.instruction)).size).toBe(57);
    expect(r.records.every((x) => /The answer is \([A-J]\)\.$/.test(x.output))).toBe(true);
  });
});
