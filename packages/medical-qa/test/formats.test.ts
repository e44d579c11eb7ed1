import { readFileSync } from "node:fs";
import { join } from "node:path";
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
  medmcqaId,
  medmcqaOptions,
  medqaGold,
  medqaLetters,
  optionLetter,
  optionLetters,
  PUBMEDQA_LABELS,
  parseJsonObjectEntries,
  pubmedqaContext,
  pubmedqaGold,
  pubmedqaLabel,
} from "../src/index.js";

const fx = (f: string) => readFileSync(join(__dirname, "fixtures", f), "utf8");
const records = <T>(r: { ok: boolean; record?: T }[]): T[] =>
  r.map((x) => {
    if (!x.ok) throw new Error(`rejected: ${JSON.stringify(x)}`);
    return x.record as T;
  });

test("option letters", () => {
  expect(optionLetter(0)).toBe("A");
  expect(optionLetter(4)).toBe("E");
  expect(optionLetters(4)).toEqual(MEDQA4_LETTERS);
  expect(optionLetters(5)).toEqual(MEDQA5_LETTERS);
});

describe("MedQA", () => {
  const mq = { question: "Q?", answer: "x", options: { A: "x", B: "y", C: "z", D: "w" }, answer_idx: "A" };

  test("release lines: the record is the object read; gold from answer_idx", () => {
    const rs = records(checkJsonLines(fx("medqa-sample.jsonl"), (v) => checkMedqa(v)));
    expect(rs).toHaveLength(4);
    expect(rs.map((r) => medqaLetters(r))).toEqual(Array(4).fill(["A", "B", "C", "D", "E"]));
    expect(rs.map((r) => medqaGold(r))).toEqual([2, 4, 2, 3]);
    expect(rs[1].options[rs[1].answer_idx]).toBe("Cross-linking of DNA");
    expect(rs[0].meta_info).toBe("step1");
    // the evaluator's view: a fixed letter list, other keys not looked at
    expect(checkMedqa(rs[1], { letters: MEDQA4_LETTERS })).toMatchObject({
      ok: false,
      field: "answer_idx",
      reason: 'field "answer_idx" ("E") is not one of the option letters A, B, C, D',
    });
  });

  test("each rejection names its field", () => {
    const reason = (v: unknown, rules = {}) => {
      const c = checkMedqa(v, rules);
      return c.ok ? "ok" : `${c.field}: ${c.reason}`;
    };
    expect(reason([mq])).toBe("undefined: record is not a JSON object");
    expect(reason({ ...mq, question: undefined })).toBe('question: field "question" is missing');
    expect(reason({ ...mq, options: ["x", "y"] })).toBe(
      'options: field "options" is not an object of lettered options',
    );
    expect(reason({ ...mq, options: { ...mq.options, B: 2 } })).toBe(
      'options.B: field "options.B" is not a string',
    );
    expect(reason({ ...mq, answer_idx: 0 })).toBe(
      'answer_idx: field "answer_idx" (0) is not one of the option letters A, B, C, D',
    );
    expect(reason({ ...mq, options: { A: "x", B: "y", C: "z" } }, { letters: MEDQA4_LETTERS })).toBe(
      'options.D: field "options.D" is missing',
    );
  });

  test("the rules each consumer keeps", () => {
    const ok = (v: unknown, rules = {}) => checkMedqa(v, rules).ok;
    // any string is text by default; nonBlank refuses blank text, keys that are not capital letters, one option
    expect(ok({ ...mq, question: " " })).toBe(true);
    expect(ok({ ...mq, question: " " }, { nonBlank: true })).toBe(false);
    expect(ok({ ...mq, options: { ...mq.options, B: "" } }, { nonBlank: true })).toBe(false);
    expect(ok({ ...mq, options: { a: "x", B: "y" }, answer_idx: "B" })).toBe(true);
    expect(ok({ ...mq, options: { a: "x", B: "y" }, answer_idx: "B" }, { nonBlank: true })).toBe(false);
    expect(ok({ ...mq, options: { A: "x" } })).toBe(true);
    expect(ok({ ...mq, options: { A: "x" } }, { nonBlank: true })).toBe(false);
    // answer_idx matched exactly unless trimAnswerIdx
    expect(ok({ ...mq, answer_idx: "A " })).toBe(false);
    expect(ok({ ...mq, answer_idx: "A " }, { trimAnswerIdx: true })).toBe(true);
    expect(medqaGold({ ...mq, answer_idx: " B" }, MEDQA4_LETTERS)).toBe(1);
    // answer must agree with options[answer_idx] only under answerMatches
    expect(ok({ ...mq, answer: "y" })).toBe(true);
    expect(checkMedqa({ ...mq, answer: "y" }, { answerMatches: true })).toMatchObject({
      field: "answer",
      reason: 'field "answer" disagrees with options[A]',
    });
    expect(ok({ ...mq, answer: " x " }, { answerMatches: true })).toBe(true);
    // a prototype key is not an option letter
    expect(ok({ ...mq, answer_idx: "toString" })).toBe(false);
  });
});

describe("MedMCQA", () => {
  const mm = { question: "Q", opa: "a", opb: "b", opc: "c", opd: "d", cop: 3, id: "m-1", exp: null };

  test("release lines: cop counts from 1 (1 = opa)", () => {
    const rs = records(checkJsonLines(fx("medmcqa-sample.jsonl"), (v) => checkMedmcqa(v)));
    expect(rs.map(medmcqaGold)).toEqual([0, 0, 2, 2]);
    expect(medmcqaOptions(rs[0])[0]).toMatch(/^Impulse through myelinated fibers is slower/);
    expect(rs[0].subject_name).toBe("Physiology");
  });

  test("each rejection names its field; cop must be the integer 1-4", () => {
    const reason = (v: unknown, nonBlank = false) => {
      const c = checkMedmcqa(v, { nonBlank });
      return c.ok ? "ok" : c.reason;
    };
    expect(reason(mm)).toBe("ok");
    expect(reason({ ...mm, cop: 0 })).toBe('field "cop" (0) must be 1, 2, 3 or 4 (1 = opa)');
    expect(reason({ ...mm, cop: "1" })).toBe('field "cop" ("1") must be 1, 2, 3 or 4 (1 = opa)');
    expect(reason({ ...mm, cop: 2.5 })).toMatch(/"cop" \(2\.5\)/);
    expect(reason({ ...mm, opd: undefined })).toBe('field "opd" is missing');
    expect(reason({ ...mm, opb: "  " })).toBe("ok");
    expect(reason({ ...mm, opb: "  " }, true)).toBe('field "opb" is empty');
    expect(checkMedmcqa({ ...mm, cop: 9 })).toMatchObject({ field: "cop", got: 9 });
    expect(medmcqaId({ ...mm, cop: 9 })).toBe("m-1");
    expect(medmcqaId({ ...mm, id: 3 })).toBeUndefined();
  });
});

describe("PubMedQA", () => {
  const pq = { QUESTION: "Q?", CONTEXTS: ["c1", "c2"], final_decision: "yes", LONG_ANSWER: "L" };

  test("release records in file order, with their PMID; contexts joined by newlines; gold = label index", () => {
    const parsed = parseJsonObjectEntries(fx("pubmedqa-sample.json"));
    if (!parsed.ok) throw new Error(parsed.reason);
    const rs = records(parsed.entries.map(([pmid, v]) => checkPubmedqa(pmid, v)));
    expect(rs.map((r) => r.PMID)).toEqual(["21645374", "16418930", "9488747"]);
    expect(rs.map((r) => r.final_decision)).toEqual(["yes", "no", "yes"]);
    expect(rs.map(pubmedqaGold)).toEqual([0, 1, 0]);
    expect(pubmedqaContext(rs[0].CONTEXTS).split("\n")).toEqual(rs[0].CONTEXTS);
    expect(rs[0].CONTEXTS).toHaveLength(2);
    expect(rs[0].LABELS).toEqual(["BACKGROUND", "RESULTS"]);
  });

  test("each rejection names its field", () => {
    const reason = (v: unknown, rules = {}) => {
      const c = checkPubmedqa("7", v, rules);
      return c.ok ? "ok" : c.reason;
    };
    expect(reason("text")).toBe("record is not a JSON object");
    expect(reason({ ...pq, QUESTION: 1 })).toBe('field "QUESTION" is not a string');
    expect(reason({ ...pq, CONTEXTS: "c" })).toBe('field "CONTEXTS" must be an array of strings');
    expect(reason({ ...pq, CONTEXTS: [] })).toBe("ok");
    expect(reason({ ...pq, CONTEXTS: [] }, { nonBlank: true })).toBe(
      'field "CONTEXTS" must be a non-empty array of non-empty strings',
    );
    expect(reason({ ...pq, final_decision: undefined })).toBe(
      'field "final_decision" (undefined) is not yes/no/maybe',
    );
    expect(reason({ ...pq, final_decision: "Maybe " })).toBe(
      'field "final_decision" ("Maybe ") is not yes/no/maybe',
    );
  });

  test("labels: exact by default, any case with anyCaseDecision; the question check ignores the label", () => {
    const c = checkPubmedqa("7", { ...pq, final_decision: " Maybe" }, { anyCaseDecision: true });
    expect(c.ok && c.record.final_decision).toBe("maybe");
    expect(c.ok && pubmedqaGold(c.record)).toBe(2);
    expect(checkPubmedqaQuestion("7", { ...pq, final_decision: undefined }).ok).toBe(true);
    expect(pubmedqaLabel("no")).toBe("no");
    expect(pubmedqaLabel("No")).toBeUndefined();
    expect(pubmedqaLabel("No", true)).toBe("no");
    expect(PUBMEDQA_LABELS).toEqual(["yes", "no", "maybe"]);
  });
});
