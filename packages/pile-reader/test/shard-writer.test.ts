import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PileReader, PileShardWriter, subsetSlug } from "../src/index.js";
import { makeDocs, tempDir } from "./pile-files.js";

describe("PileShardWriter", () => {
  test("per-subset shards the reference zstd decodes to The Pile's JSONL, rotated by size", async () => {
    const dir = tempDir();
    const docs = makeDocs(600, 31).filter((d) => d.meta.pile_set_name !== "Pile-CC");
    const w = new PileShardWriter({ dir, maxShardBytes: 20_000 });
    for (const d of docs) w.write(d);
    // Open shards exist only under temporary names until closed.
    expect(readdirSync(dir).filter((f) => f.endsWith(".jsonl.zst")).length).toBeLessThan(
      readdirSync(dir).length,
    );
    const shards = w.close();
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
    for (const subset of ["PubMed Abstracts", "PubMed Central", "Github", "Wikipedia (en)"]) {
      const mine = shards.filter((s) => s.subset === subset);
      expect(mine.length).toBeGreaterThan(1);
      expect(mine.map((s) => s.file)).toEqual(
        mine.map((_, i) => `${subsetSlug(subset)}-${String(i).padStart(5, "0")}.jsonl.zst`),
      );
      // Decode with the zstd CLI, independently of our reader.
      const lines = mine.flatMap((s) => {
        expect(s.uncompressedBytes).toBeLessThanOrEqual(20_000);
        expect(statSync(join(dir, s.file)).size).toBe(s.compressedBytes);
        const text = execFileSync("zstd", ["-dc", join(dir, s.file)], { encoding: "utf8" });
        expect(Buffer.byteLength(text)).toBe(s.uncompressedBytes);
        return text.split("\n").filter((l) => l.length > 0);
      });
      const want = docs.filter((d) => d.meta.pile_set_name === subset);
      expect(lines.map((l) => JSON.parse(l))).toEqual(want.map((d) => ({ text: d.text, meta: d.meta })));
      expect(mine.reduce((n, s) => n + s.docs, 0)).toBe(want.length);
    }
    // And our reader reads them back.
    const back: string[] = [];
    for await (const d of new PileReader({ inputs: dir })) back.push(d.text);
    expect(back.sort()).toEqual(
      docs
        .filter((d) => d.meta.pile_set_name.startsWith("PubMed"))
        .map((d) => d.text)
        .sort(),
    );
  });

  test("abort leaves no temporary and no partial shard", () => {
    const dir = tempDir();
    const w = new PileShardWriter({ dir });
    for (const d of makeDocs(50)) w.write(d);
    w.abort();
    expect(readdirSync(dir)).toEqual([]);
  });

  test("slugs", () => {
    expect(subsetSlug("PubMed Abstracts")).toBe("pubmed-abstracts");
    expect(subsetSlug("Wikipedia (en)")).toBe("wikipedia-en");
    expect(subsetSlug("NIH ExPorter")).toBe("nih-exporter");
  });
});
