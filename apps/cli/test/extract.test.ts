import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

const SETS = ["PubMed Abstracts", "Github", "PubMed Central", "Wikipedia (en)"];
interface Doc {
  text: string;
  meta: { pile_set_name: string };
}

function docs(n: number, tag: string): Doc[] {
  return Array.from({ length: n }, (_, i) => ({
    text: `${tag} ${i}: ${"Δ-β 腫瘍 🧬 ".repeat(1 + (i % 9))}\n"end"`,
    meta: { pile_set_name: SETS[i % SETS.length] },
  }));
}

const jsonl = (ds: Doc[]) => ds.map((d) => `${JSON.stringify(d)}\n`).join("");

function run(args: string[], env: Record<string, string> = {}) {
  const { RANK: _r, WORLD_SIZE: _w, ...base } = process.env;
  return spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...base, ...env } });
}

describe("biomed-llama extract", () => {
  let dir: string;
  let all: Doc[];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "extract-cli-"));
    const a = docs(120, "a");
    const b = docs(80, "b");
    all = [...a, ...b];
    // A real multi-frame, long-window shard: two zstd --long=31 frames from stdin, concatenated.
    writeFileSync(join(dir, "a.jsonl"), jsonl(a));
    writeFileSync(join(dir, "b.jsonl"), jsonl(b));
    execFileSync("sh", [
      "-c",
      `cd "${dir}" && zstd -q --long=31 -c < a.jsonl > a.zst && zstd -q --long=31 -c < b.jsonl > b.zst && mkdir in && cat a.zst b.zst > in/00.jsonl.zst`,
    ]);
  });

  test("writes per-subset .jsonl.zst shards and a manifest that add up to the input", () => {
    const out = join(dir, "out");
    const r = run(["extract", "--input", join(dir, "in", "00.jsonl.zst"), "--out", out, "--json"]);
    expect(r.stderr).not.toContain("biomed-llama:");
    expect(r.status).toBe(0);
    // Not a TTY here: progress comes as plain log lines with rate and ETA by input bytes.
    expect(r.stderr).toMatch(/^extract: [\d.]+\/[\d.]+ MB \([\d.]+%\) \| [\d.]+ MB\/s \| ETA \d+s$/m);
    expect(readdirSync(out).sort()).toEqual([
      "manifest.json",
      "pubmed-abstracts-00000.jsonl.zst",
      "pubmed-central-00000.jsonl.zst",
    ]);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(JSON.parse(r.stdout)).toEqual(manifest);
    expect(manifest.readerVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(manifest.sources).toEqual([
      { path: join(dir, "in", "00.jsonl.zst"), bytes: readFileSync(join(dir, "in", "00.jsonl.zst")).length },
    ]);
    for (const [subset, file] of [
      ["PubMed Abstracts", "pubmed-abstracts-00000.jsonl.zst"],
      ["PubMed Central", "pubmed-central-00000.jsonl.zst"],
    ]) {
      const want = all.filter((d) => d.meta.pile_set_name === subset);
      const text = execFileSync("zstd", ["-dc", join(out, file)], { encoding: "utf8" });
      expect(
        text
          .trimEnd()
          .split("\n")
          .map((l) => JSON.parse(l)),
      ).toEqual(want);
      expect(manifest.perSubset[subset]).toEqual({
        docs: want.length,
        bytes: want.reduce((n, d) => n + Buffer.byteLength(d.text), 0),
      });
    }
    expect(manifest.skipped.otherSubsets).toEqual({ Github: 50, "Wikipedia (en)": 50 });
  });

  test("two ranks share one --out and together hold every document once", () => {
    const out = join(dir, "ranks");
    for (const rank of ["0", "1"]) {
      const r = run([
        "extract",
        "--input",
        join(dir, "in"),
        "--subsets",
        "all",
        "--out",
        out,
        "--rank",
        rank,
        "--world-size",
        "2",
      ]);
      expect(r.status).toBe(0);
    }
    const files = readdirSync(out).filter((f) => f.endsWith(".zst"));
    const texts = files.flatMap((f) =>
      execFileSync("zstd", ["-dc", join(out, f)], { encoding: "utf8" })
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l).text),
    );
    expect(texts.sort()).toEqual(all.map((d) => d.text).sort());
    // The same split from torchrun-style environment variables instead of flags.
    const viaEnv = join(dir, "ranks-env");
    for (const rank of ["0", "1"])
      expect(
        run(["extract", "--input", join(dir, "in"), "--subsets", "all", "--out", viaEnv], {
          RANK: rank,
          WORLD_SIZE: "2",
        }).status,
      ).toBe(0);
    expect(readdirSync(viaEnv).sort()).toEqual(readdirSync(out).sort());
    const m0 = JSON.parse(readFileSync(join(out, "manifest.rank-0-of-2.json"), "utf8"));
    const m1 = JSON.parse(readFileSync(join(out, "manifest.rank-1-of-2.json"), "utf8"));
    expect([m0.docs, m1.docs]).toEqual([all.length / 2, all.length / 2]);
  });

  test("a truncated shard exits 1 with one line naming the file and byte offset, and writes nothing", () => {
    const full = readFileSync(join(dir, "a.zst"));
    const bad = join(dir, "cut.jsonl.zst");
    writeFileSync(bad, full.subarray(0, full.length - 40));
    const out = join(dir, "out-bad");
    const r = run(["extract", "--input", bad, "--out", out]);
    expect(r.status).toBe(1);
    const errLines = r.stderr.split("\n").filter((l) => l.startsWith("biomed-llama:"));
    expect(errLines).toEqual([
      `biomed-llama: ${bad}: zstd stream is truncated: the frame starting at byte 0 ends early at compressed byte ${full.length - 40}`,
    ]);
    // Not even an empty --out directory is left behind.
    expect(existsSync(out)).toBe(false);
  });

  test("a bad JSON line exits 1 naming file:line; --on-bad-line skip counts it instead", () => {
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, `${jsonl(docs(3, "x"))}{"text": "cut\n${jsonl(docs(1, "y"))}`);
    const r = run(["extract", "--input", bad, "--out", join(dir, "out-json")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`biomed-llama: ${bad}:4: bad JSON line`);
    const ok = run([
      "extract",
      "--input",
      bad,
      "--out",
      join(dir, "out-json2"),
      "--on-bad-line",
      "skip",
      "--json",
    ]);
    expect(ok.status).toBe(0);
    const m = JSON.parse(ok.stdout);
    expect(m.skipped.badLines).toBe(1);
    expect(m.docs).toBe(3);
  });

  test("the bundled sample (3 frames, --long=31, no content size) extracts its PubMed documents", () => {
    const sample = fileURLToPath(new URL("../../../examples/pile-sample/", import.meta.url));
    const shard = join(sample, "pile-sample.jsonl.zst");
    const out = join(dir, "sample");
    const r = run(["extract", "--input", shard, "--out", out, "--json"]);
    expect(r.status).toBe(0);
    const m = JSON.parse(r.stdout);
    const sources = JSON.parse(readFileSync(join(sample, "sources.json"), "utf8"))["pile-sample.jsonl.zst"];
    expect(m.perSubset["PubMed Abstracts"].docs).toBe(sources["PubMed Abstracts"].length);
    expect(m.perSubset["PubMed Central"].docs).toBe(sources["PubMed Central"].length);
    // The reference decoder's view of the input, filtered by hand, equals what extract wrote.
    const input = execFileSync("zstd", ["-dc", "--long=31", shard], { encoding: "utf8", maxBuffer: 1 << 26 })
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((d) => d.meta.pile_set_name === "PubMed Abstracts");
    const written = execFileSync("zstd", ["-dc", join(out, "pubmed-abstracts-00000.jsonl.zst")], {
      encoding: "utf8",
    })
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(written).toEqual(input);
  });

  test("an existing non-empty --out is refused before any work; --overwrite replaces it whole", () => {
    const out = join(dir, "twice");
    expect(run(["extract", "--input", join(dir, "a.jsonl"), "--out", out]).status).toBe(0);
    const first = readFileSync(join(out, "manifest.json"), "utf8");
    const again = run(["extract", "--input", join(dir, "b.jsonl"), "--out", out]);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(
      `biomed-llama: --out ${out}: already exists and is not empty; pass --overwrite to replace it, or pick another path\n`,
    );
    expect(readFileSync(join(out, "manifest.json"), "utf8")).toBe(first);
    // A folder with anything in it (here a shard of an unfinished run, or notes) is refused too.
    const other = join(dir, "other");
    mkdirSync(other);
    writeFileSync(join(other, "notes.txt"), "keep");
    const r = run(["extract", "--input", join(dir, "a.jsonl"), "--out", other]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`--out ${other}: already exists and is not empty`);
    expect(readdirSync(other)).toEqual(["notes.txt"]);
    // --overwrite: the new extract replaces the old one, nothing of the old one is left.
    const ok = run(["extract", "--input", join(dir, "b.jsonl"), "--out", other, "--overwrite", "--json"]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(readdirSync(other).sort()).toEqual([
      "manifest.json",
      "pubmed-abstracts-00000.jsonl.zst",
      "pubmed-central-00000.jsonl.zst",
    ]);
    expect(JSON.parse(ok.stdout).sources[0].path).toBe(join(dir, "b.jsonl"));
    expect(readdirSync(dir).filter((f) => f.startsWith("."))).toEqual([]);
  });

  test("ranks sharing --out refuse only their own existing files; --overwrite replaces only those", () => {
    const out = join(dir, "shared");
    const rank = (r: string, ...extra: string[]) =>
      run([
        "extract",
        "--input",
        join(dir, "in"),
        "--subsets",
        "all",
        "--out",
        out,
        "--rank",
        r,
        "--world-size",
        "2",
        ...extra,
      ]);
    expect(rank("0").status).toBe(0);
    const before = readdirSync(out).sort();
    const again = rank("0");
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(
      `biomed-llama: --out ${out}: already holds this rank's ${join(out, before[0])}; pass --overwrite to replace this rank's files, or pick another path\n`,
    );
    expect(rank("1").status).toBe(0);
    const both = readdirSync(out).sort();
    expect(rank("0", "--overwrite").status).toBe(0);
    expect(readdirSync(out).sort()).toEqual(both);
  });

  test("--subsets must name subsets of The Pile: a typo fails before any work, listing them", () => {
    const out = join(dir, "typo");
    const r = run([
      "extract",
      "--input",
      join(dir, "a.jsonl"),
      "--subsets",
      "PubMed Abstractz",
      "--out",
      out,
    ]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^biomed-llama: --subsets: unknown Pile subset "PubMed Abstractz" \(did you mean "PubMed Abstracts"\?\); known: "Pile-CC", /,
    );
    for (const name of ["PubMed Central", "Wikipedia (en)", "Enron Emails", "Gutenberg (PG-19)"])
      expect(lines[0]).toContain(`"${name}"`);
    expect(existsSync(out)).toBe(false);
    const all = run(["extract", "--input", join(dir, "a.jsonl"), "--subsets", "all", "--out", out, "--json"]);
    expect(all.status, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout).docs).toBe(120);
  });

  test("--level outside zstd's 1..22 is refused naming the flag; 22 works", () => {
    for (const level of ["99", "0", "-1", "2.5", "x"]) {
      const out = join(dir, `level-${level}`);
      const r = run(["extract", "--input", join(dir, "a.jsonl"), "--level", level, "--out", out]);
      expect(r.status).toBe(1);
      expect(r.stderr.split("\n")[0]).toBe(
        `error: option '--level <n>' argument '${level}' is invalid. expected a zstd level from 1 to 22, got "${level}"`,
      );
      expect(existsSync(out)).toBe(false);
    }
    const out = join(dir, "level-22");
    expect(run(["extract", "--input", join(dir, "a.jsonl"), "--level", "22", "--out", out]).status).toBe(0);
  });

  test("failures after the output was started leave no --out, nor the parents it created", () => {
    const bad = join(dir, "bad2.jsonl");
    writeFileSync(bad, `${jsonl(docs(3, "x"))}{"text": "cut\n`);
    for (const args of [
      ["--input", bad],
      ["--input", bad, "--rank", "0", "--world-size", "2", "--split-by", "file"],
    ]) {
      const out = join(dir, "deep", "er", "out");
      const r = run(["extract", ...args, "--out", out]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`${bad}:4: bad JSON line`);
      expect(existsSync(join(dir, "deep"))).toBe(false);
    }
  });
});
