import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { checkJsonLines, checkMedmcqa, parseJsonLines, parseJsonObjectEntries } from "../src/index.js";

const fx = (f: string) => readFileSync(join(__dirname, "fixtures", f), "utf8");

describe("parseJsonLines", () => {
  test("one result per non-blank line, numbered from 1 in the file; a bad line is a result, not a throw", () => {
    const lines = parseJsonLines('{"a":1}\n\n   \n{"a":\n[1]\r\n\ufeff{"b":2}\n');
    expect(lines.map((l) => l.line)).toEqual([1, 4, 5, 6]);
    expect(lines[0]).toEqual({ line: 1, value: { a: 1 } });
    expect(lines[1].error).toMatch(/^not valid JSON \(.+\)$/);
    expect(lines[2]).toEqual({ line: 5, value: [1] }); // CRLF
    expect(lines[3]).toEqual({ line: 6, value: { b: 2 } }); // a byte-order mark is not part of the record
  });

  test("the release's MedMCQA lines keep their nulls", () => {
    const [first] = parseJsonLines(fx("medmcqa-sample.jsonl"));
    expect(first.value).toMatchObject({ exp: null, cop: 1, id: "45258d3d-b974-44dd-a161-c3fccbdadd88" });
  });
});

describe("parseJsonObjectEntries", () => {
  test("PubMedQA's PMIDs come back in file order, which JSON.parse would sort numerically", () => {
    const text = fx("pubmedqa-sample.json");
    const parsed = parseJsonObjectEntries(text);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.entries.map(([k]) => k)).toEqual(["21645374", "16418930", "9488747"]);
    expect(Object.keys(JSON.parse(text))).toEqual(["9488747", "16418930", "21645374"]);
    expect(parsed.entries[2][1]).toMatchObject({ final_decision: "yes" });
  });

  test("keys inside nested values and escaped quotes do not count; a repeated key keeps its first place and last value (Python's dict)", () => {
    const parsed = parseJsonObjectEntries(
      String.raw`{"30": {"a": [1, {"x": "}, \"9\": ["}], "b": "q\\"}, "2": 5, "k\"ey": {"1": 2}, "10": [], "2": 6}`,
    );
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.entries).toEqual([
      ["30", { a: [1, { x: '}, "9": [' }], b: "q\\" }],
      ["2", 6],
      ['k"ey', { 1: 2 }],
      ["10", []],
    ]);
  });

  test("an array is not an object; broken JSON says why", () => {
    expect(parseJsonObjectEntries("[1, 2]")).toEqual({
      ok: false,
      notObject: true,
      reason: "expected a JSON object",
    });
    const broken = parseJsonObjectEntries('{"1": {"a": tru}}');
    expect(broken.ok).toBe(false);
    expect(broken.ok === false && !broken.notObject && broken.reason).toMatch(/^not valid JSON \(/);
    expect(parseJsonObjectEntries("{}")).toEqual({ ok: true, entries: [] });
  });
});

describe("checkJsonLines", () => {
  test("records, field rejections and unparseable lines, each with its line", () => {
    const text = [
      '{"question":"q","opa":"a","opb":"b","opc":"c","opd":"d","cop":2,"id":"x1"}',
      "",
      '{"question":"q","opa":"a","opb":"b","opc":"c","cop":2,"id":"x2"}',
      "not json",
    ].join("\n");
    const r = checkJsonLines(text, (v) => checkMedmcqa(v));
    expect(r.map((x) => [x.line, x.ok])).toEqual([
      [1, true],
      [3, false],
      [4, false],
    ]);
    expect(r[1]).toMatchObject({ invalidJson: false, field: "opd", reason: 'field "opd" is missing' });
    expect(r[1].ok === false && r[1].parsed).toMatchObject({ id: "x2" });
    expect(r[2]).toMatchObject({ invalidJson: true });
    expect(r[2].ok === false && "parsed" in r[2]).toBe(false);
    expect(r[2].ok === false && r[2].reason).toMatch(/^not valid JSON/);
  });
});
