import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { readJsonObjectInFileOrder } from "../src/source-file.js";

const dir = mkdtempSync(join(tmpdir(), "source-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("top-level keys come back in file order despite integer keys, escapes and nesting", () => {
  const file = join(dir, "doc.json");
  const text = `{"30": {"a": [1, {"x": "}, \\"9\\": ["}], "b": "q\\"uote,"},
    "2": 5, "k\\"ey": {"nested": {"1": 2}}, "10": [], "2": 6}`;
  writeFileSync(file, text);
  const parsed = readJsonObjectInFileOrder(file)!;
  expect(parsed.keys).toEqual(["30", "2", 'k"ey', "10"]);
  expect(Object.keys(parsed.doc)).toEqual(["2", "10", "30", 'k"ey']); // what plain JSON.parse gives
  expect(parsed.doc["2"]).toBe(6); // duplicate key: last value wins, first position kept
});

test("arrays are not objects; invalid JSON names the file", () => {
  const arr = join(dir, "arr.json");
  writeFileSync(arr, "[1, 2]");
  expect(readJsonObjectInFileOrder(arr)).toBeUndefined();
  const broken = join(dir, "broken.json");
  writeFileSync(broken, '{"a": ');
  expect(() => readJsonObjectInFileOrder(broken)).toThrow(/broken\.json: not valid JSON/);
});
