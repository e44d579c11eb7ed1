import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import {
  PileInputError,
  PileJsonError,
  PileReader,
  type PileReaderOptions,
  resolvePileInputs,
} from "../src/index.js";
import { makeDocs, type TestDoc, tempDir, writeJsonl, zstdCli } from "./pile-files.js";

async function texts(opts: PileReaderOptions): Promise<string[]> {
  const out: string[] = [];
  for await (const d of new PileReader(opts)) out.push(d.text);
  return out;
}

describe("PileReader: inputs, subsets, ranks, bad lines", () => {
  let dir: string;
  let docs: TestDoc[][];
  let all: TestDoc[];
  beforeAll(() => {
    dir = tempDir();
    mkdirSync(join(dir, "shards", "nested"), { recursive: true });
    docs = [makeDocs(101, 11), makeDocs(57, 12), makeDocs(83, 13)];
    writeJsonl(join(dir, "00.jsonl"), docs[0]);
    zstdCli(join(dir, "00.jsonl"), join(dir, "shards", "00.jsonl.zst"));
    writeJsonl(join(dir, "01.jsonl"), docs[1]);
    zstdCli(join(dir, "01.jsonl"), join(dir, "shards", "01.jsonl.zst"));
    writeJsonl(join(dir, "shards", "nested", "02.jsonl"), docs[2]);
    writeFileSync(join(dir, "shards", "README.txt"), "not a shard");
    all = docs.flat();
  });

  test("a directory expands recursively, sorted; globs and files too; duplicates once", async () => {
    const files = await resolvePileInputs([join(dir, "shards"), join(dir, "shards/*.zst")]);
    expect(files.map((f) => f.path.slice(dir.length))).toEqual([
      "/shards/00.jsonl.zst",
      "/shards/01.jsonl.zst",
      "/shards/nested/02.jsonl",
    ]);
    expect(files.map((f) => f.compressed)).toEqual([true, true, false]);
    const globbed = await resolvePileInputs(`${dir}/shards/0*.jsonl.zst`);
    expect(globbed).toHaveLength(2);
  });

  test("inputs that match nothing fail naming the input", async () => {
    await expect(resolvePileInputs(join(dir, "missing.jsonl.zst"))).rejects.toThrow(PileInputError);
    await expect(resolvePileInputs(`${dir}/*.nothing`)).rejects.toThrow(/\*\.nothing: glob matches no/);
  });

  test("default keeps PubMed Abstracts and PubMed Central only, with per-subset stats", async () => {
    const r = new PileReader({ inputs: join(dir, "shards") });
    const got: string[] = [];
    for await (const d of r) got.push(d.text);
    const want = all.filter((d) => d.meta.pile_set_name.startsWith("PubMed"));
    expect(got).toEqual(want.map((d) => d.text));
    const s = r.stats();
    for (const name of ["PubMed Abstracts", "PubMed Central"]) {
      const sub = want.filter((d) => d.meta.pile_set_name === name);
      expect(s.subsets[name]).toEqual({
        docs: sub.length,
        bytes: sub.reduce((n, d) => n + new TextEncoder().encode(d.text).length, 0),
      });
    }
    expect(s.skipped.otherSubsets.Github).toBe(all.filter((d) => d.meta.pile_set_name === "Github").length);
    expect(s.docs + Object.values(s.skipped.otherSubsets).reduce((a, b) => a + b, 0)).toBe(all.length);
    expect(s.linesRead).toBe(all.length);
  });

  test("subsets can be chosen, or 'all'", async () => {
    expect(await texts({ inputs: join(dir, "shards"), subsets: ["Wikipedia (en)"] })).toEqual(
      all.filter((d) => d.meta.pile_set_name === "Wikipedia (en)").map((d) => d.text),
    );
    expect(await texts({ inputs: join(dir, "shards"), subsets: "all" })).toEqual(all.map((d) => d.text));
  });

  test("line split: rank r gets global lines r mod W; ranks are disjoint and cover everything", async () => {
    const W = 3;
    const parts: string[][] = [];
    for (let rank = 0; rank < W; rank++)
      parts.push(await texts({ inputs: join(dir, "shards"), subsets: "all", rank, worldSize: W }));
    for (let rank = 0; rank < W; rank++)
      expect(parts[rank]).toEqual(all.filter((_, i) => i % W === rank).map((d) => d.text));
    expect(parts.flat().sort()).toEqual(all.map((d) => d.text).sort());
  });

  test("file split: rank r reads files r mod W", async () => {
    const opts = {
      inputs: join(dir, "shards"),
      subsets: "all" as const,
      worldSize: 2,
      splitBy: "file" as const,
    };
    expect(await texts({ ...opts, rank: 0 })).toEqual([...docs[0], ...docs[2]].map((d) => d.text));
    expect(await texts({ ...opts, rank: 1 })).toEqual(docs[1].map((d) => d.text));
  });

  test("progress reports input bytes up to the sum of file sizes, also while nothing is kept", async () => {
    const seen: { bytesRead: number; totalBytes: number; docs: number }[] = [];
    const r = new PileReader({
      inputs: join(dir, "shards"),
      subsets: ["No Such Subset"],
      progressEveryLines: 10,
      onProgress: (p) => seen.push(p),
    });
    for await (const _ of r) throw new Error("nothing should be kept");
    const total = ["00.jsonl.zst", "01.jsonl.zst", "nested/02.jsonl"].reduce(
      (n, f) => n + statSync(join(dir, "shards", f)).size,
      0,
    );
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.at(-1)).toMatchObject({ bytesRead: total, totalBytes: total, docs: 0 });
    for (let i = 1; i < seen.length; i++)
      expect(seen[i].bytesRead).toBeGreaterThanOrEqual(seen[i - 1].bytesRead);
  });

  test("rank outside the world fails", () => {
    expect(() => new PileReader({ inputs: dir, rank: 2, worldSize: 2 })).toThrow(RangeError);
  });

  describe("bad JSON lines", () => {
    let bad: string;
    beforeAll(() => {
      bad = join(dir, "bad.jsonl");
      writeFileSync(
        bad,
        [
          '{"text": "ok 1", "meta": {"pile_set_name": "PubMed Abstracts"}}',
          '{"text": "cut off", "meta": {"pile_set_na',
          '{"text": 42, "meta": {"pile_set_name": "PubMed Abstracts"}}',
          '{"text": "no meta"}',
          '{"text": "ok 2", "meta": {"pile_set_name": "PubMed Central"}}',
        ].join("\n"),
      );
    });

    test("fail by default, naming file:line", async () => {
      const err = await texts({ inputs: bad }).catch((e) => e);
      expect(err).toBeInstanceOf(PileJsonError);
      expect(err.message).toMatch(
        new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2: bad JSON line`),
      );
      expect(err.line).toBe(2);
    });

    test("skip: dropped and counted", async () => {
      const r = new PileReader({ inputs: bad, onBadLine: "skip" });
      const got: string[] = [];
      for await (const d of r) got.push(d.text);
      expect(got).toEqual(["ok 1", "ok 2"]);
      expect(r.stats().skipped.badLines).toBe(3);
      expect(r.stats().skipped.firstBadLine).toContain("bad.jsonl:2:");
    });

    test("invalid UTF-8 is a bad line, not silently replaced", async () => {
      const p = join(dir, "latin1.jsonl");
      writeFileSync(
        p,
        Buffer.concat([
          Buffer.from('{"text": "caf'),
          Buffer.from([0xe9]),
          Buffer.from('", "meta": {"pile_set_name": "PubMed Abstracts"}}\n'),
        ]),
      );
      await expect(texts({ inputs: p })).rejects.toThrow(/latin1\.jsonl:1: line is not valid UTF-8/);
    });
  });
});
