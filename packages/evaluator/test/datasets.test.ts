import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { readJsonObjectEntries, readMmluCsv } from "../src/datasets.js";
import { TaskDataError } from "../src/errors.js";

const tmp = (name: string, text: string) => {
  const p = join(mkdtempSync(join(tmpdir(), "eval-ds-")), name);
  writeFileSync(p, text);
  return p;
};

test("readJsonObjectEntries keeps file order of integer-like keys (JSON.parse would sort them)", () => {
  const text = '{"30": {"a": [1, {"b": "}]\\"x"}]}, "4": "yes", "100": null, "2": [] }';
  const p = tmp("o.json", text);
  expect(readJsonObjectEntries(p)).toEqual([
    ["30", { a: [1, { b: '}]"x' }] }],
    ["4", "yes"],
    ["100", null],
    ["2", []],
  ]);
  expect(Object.keys(JSON.parse(text))).toEqual(["2", "4", "30", "100"]);
});

test("readJsonObjectEntries rejects malformed JSON with the file name", () => {
  expect(() => readJsonObjectEntries(tmp("bad.json", '{"1": {"a": tru}}'))).toThrow(TaskDataError);
  expect(() => readJsonObjectEntries(tmp("bad2.json", "[1]"))).toThrow(/bad2\.json: expected a JSON object/);
});

test("readMmluCsv parses quoted fields with commas and newlines", () => {
  const p = tmp("x_test.csv", '"Q, with comma\nand newline",a,"b ""quoted""",c,d,B\n');
  expect(readMmluCsv(p)).toEqual([
    { question: "Q, with comma\nand newline", choices: ["a", 'b "quoted"', "c", "d"], answer: "B" },
  ]);
  expect(() => readMmluCsv(tmp("y_test.csv", "q,a,b,c,d\n"))).toThrow(/y_test\.csv:1: expected 6 columns/);
});
