import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, test } from "vitest";
import {
  checkPileSubsets,
  PILE_SUBSETS,
  PileReader,
  PileShardWriter,
  PileSubsetError,
  subsetSlug,
  ZSTD_MAX_LEVEL,
} from "../src/index.js";
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

  test("a zstd level outside 1..22 is refused before any file is created", () => {
    const dir = join(tempDir(), "shards");
    expect(ZSTD_MAX_LEVEL).toBe(22);
    for (const level of [0, -1, 23, 99, 2.5])
      expect(() => new PileShardWriter({ dir, level })).toThrow(
        `zstd level must be a whole number from 1 to 22, got ${level}`,
      );
    expect(() => readdirSync(dir)).toThrow(/ENOENT/);
    const w = new PileShardWriter({ dir, level: 22 });
    w.write(makeDocs(1)[0]);
    expect(w.close()).toHaveLength(1);
  });
});

test("a write past the file size limit (EFBIG, as ENOSPC) names the shard; abort leaves nothing", () => {
  const dir = join(tempDir(), "shards");
  const dist = pathToFileURL(join(import.meta.dirname, "..", "dist", "index.js")).href;
  const script = `import { PileShardWriter } from ${JSON.stringify(dist)};
const w = new PileShardWriter({ dir: ${JSON.stringify(dir)}, level: 1 });
try {
  for (let i = 0; i < 400; i++)
    w.write({ text: Array.from({ length: 200 }, (_, j) => Math.sin(i * 200 + j).toString(36)).join(" "), meta: { pile_set_name: "PubMed Central" } });
  w.close();
} catch (e) {
  w.abort();
  process.stderr.write(e.message + "\\n");
  process.exit(1);
}`;
  const r = spawnSync(
    "bash",
    ["-c", 'ulimit -f 32; exec "$0" --input-type=module -e "$1"', process.execPath, script],
    { encoding: "utf8" },
  );
  expect(r.status, r.stderr).toBe(1);
  expect(r.stderr).toBe(
    `${join(dir, "pubmed-central-00000.jsonl.zst")}: file too large (file system limit or the process's file size limit, ulimit -f) (EFBIG)\n`,
  );
  expect(readdirSync(dir)).toEqual([]);
});

describe("Pile subset names", () => {
  test("the 22 names of The Pile; a typo is refused with a suggestion and the list", () => {
    expect(PILE_SUBSETS).toHaveLength(22);
    expect(new Set(PILE_SUBSETS).size).toBe(22);
    expect(PILE_SUBSETS).toContain("PubMed Abstracts");
    expect(checkPileSubsets(["all"])).toBe("all");
    expect(checkPileSubsets("all")).toBe("all");
    expect(checkPileSubsets(["PubMed Central", "Github", "Github"])).toEqual(["PubMed Central", "Github"]);
    let err: unknown;
    try {
      checkPileSubsets(["PubMed Central", "PubMed Abstractz"]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PileSubsetError);
    const msg = (err as Error).message;
    expect(msg).toMatch(
      /^unknown Pile subset "PubMed Abstractz" \(did you mean "PubMed Abstracts"\?\); known: "Pile-CC", /,
    );
    for (const name of PILE_SUBSETS) expect(msg).toContain(JSON.stringify(name));
    expect(msg).not.toContain("\n");
    expect(() => checkPileSubsets(["all", "Github"])).toThrow('unknown Pile subset "all"');
    expect(() => checkPileSubsets(["zzzzzzzzzz"])).toThrow(/^unknown Pile subset "zzzzzzzzzz"; known/);
  });
});
