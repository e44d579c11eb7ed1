// extractPile, the job behind `biomed-llama extract`, used as a library: shards and a manifest of
// exactly the kept documents; an existing output refused before any work; an interrupted job leaves
// nothing behind.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { ExtractInterrupted, extractPile, PileReader } from "../src/index";

function pileFile(dir: string): string {
  const lines: string[] = [];
  for (let i = 0; i < 30; i++) {
    const set = i % 3 === 0 ? "PubMed Abstracts" : i % 3 === 1 ? "Pile-CC" : "PubMed Central";
    lines.push(JSON.stringify({ text: `document ${i}`, meta: { pile_set_name: set } }));
  }
  const file = join(dir, "00.jsonl");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

const base = (input: string, out: string) => ({
  inputs: [input],
  subsets: ["PubMed Abstracts", "PubMed Central"],
  out,
  rank: 0,
  worldSize: 1,
  splitBy: "line" as const,
  onBadLine: "fail" as const,
  maxShardBytes: 1e6,
  level: 3,
});

test("keeps exactly the chosen subsets, writes a manifest, refuses to run over its own output", async () => {
  const dir = mkdtempSync(join(tmpdir(), "extract-job-"));
  const input = pileFile(dir);
  const out = join(dir, "out");
  let started = -1;
  const r = await extractPile({ ...base(input, out), onStart: (total) => (started = total) });
  expect(started).toBe(readFileSync(input).length);
  expect(r.manifest.docs).toBe(20);
  expect(r.manifest.perSubset["Pile-CC"]).toBeUndefined();
  expect(JSON.parse(readFileSync(r.manifestPath, "utf8")).docs).toBe(20);
  const texts: string[] = [];
  for await (const d of new PileReader({ inputs: [out], subsets: "all" })) texts.push(d.text);
  expect(texts.sort()).toEqual(
    Array.from({ length: 30 }, (_, i) => i)
      .filter((i) => i % 3 !== 1)
      .map((i) => `document ${i}`)
      .sort(),
  );
  await expect(extractPile(base(input, out))).rejects.toThrow(
    /--out .*: already exists and is not empty; pass --overwrite/,
  );
  await expect(
    extractPile({ ...base(input, join(dir, "x")), subsets: ["PubMed Abstractz"] }),
  ).rejects.toThrow(/^--subsets: /);
  expect(existsSync(join(dir, "x"))).toBe(false);
});

test("an interrupted job throws ExtractInterrupted and leaves no output", async () => {
  const dir = mkdtempSync(join(tmpdir(), "extract-job-"));
  const input = pileFile(dir);
  let n = 0;
  const err = await extractPile({
    ...base(input, join(dir, "out")),
    interrupted: () => (++n > 5 ? "SIGINT" : undefined),
  }).catch((e) => e);
  expect(err).toBeInstanceOf(ExtractInterrupted);
  expect(err.message).toBe("extract interrupted by SIGINT");
  expect(readdirSync(dir)).toEqual(["00.jsonl"]);
});
