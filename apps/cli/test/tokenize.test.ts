import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PileReader } from "@biomed-llama/pile-reader";
import { IndexedDataset, LlamaTokenizer } from "@biomed-llama/tokenizer";
import { beforeAll, describe, expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
// 40 PubMedQA abstracts in Pile format, two zstd frames written by the zstd CLI
// (packages/tokenizer/scripts/make-fixtures.py).
const sample = fileURLToPath(
  new URL("../../../packages/tokenizer/test/fixtures/pubmed-sample.jsonl.zst", import.meta.url),
);
const run = (...args: string[]) =>
  spawnSync(process.execPath, [cli, "tokenize", ...args], { encoding: "utf8" });
const tmp = () => mkdtempSync(join(tmpdir(), "cli-tokenize-"));

let llama: LlamaTokenizer;
beforeAll(async () => {
  llama = await LlamaTokenizer.load();
});

describe("biomed-llama tokenize", () => {
  test("a real .jsonl.zst becomes a Megatron dataset with [BOS] ids [EOS] per document", async () => {
    const dir = tmp();
    const r = run("--input", sample, "--out", join(dir, "pm"), "--workers", "2", "--json");
    // stderr may carry progress lines on a slow machine, never an error.
    expect(r.stderr).not.toMatch(/biomed-llama:/);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.docs).toBe(40);
    expect(summary.dtype).toBe("uint16");
    expect(summary.subsets["PubMed Central"].docs).toBe(14);
    expect(summary.subsets["PubMed Abstracts"].docs).toBe(26);
    expect(JSON.parse(readFileSync(join(dir, "pm.stats.json"), "utf8")).tokens).toBe(summary.tokens);

    const idx = readFileSync(join(dir, "pm.idx"));
    expect(idx.subarray(0, 9).toString("latin1")).toBe("MMIDIDX\0\0");
    expect(idx[17]).toBe(8);
    const ds = IndexedDataset.open(join(dir, "pm"));
    expect(ds.numDocuments).toBe(40);
    expect(ds.totalTokens).toBe(summary.tokens);
    const texts: string[] = [];
    for await (const doc of new PileReader({ inputs: sample, subsets: "all" })) texts.push(doc.text);
    for (const i of [0, 1, 24, 25, 39]) {
      expect(Array.from(ds.get(i))).toEqual(llama.encode(texts[i], { bos: true, eos: true }));
    }
    expect(readdirSync(dir).sort()).toEqual(["pm.bin", "pm.idx", "pm.stats.json"]);
  });

  test("plain text summary; --no-bos --no-append-eos --dtype int32; a directory as input", () => {
    const dir = tmp();
    const r = run(
      "--input",
      join(sample, ".."),
      "--out",
      join(dir, "raw"),
      "--no-bos",
      "--no-append-eos",
      "--dtype",
      "int32",
      "--workers",
      "1",
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/tokenized 40 docs into \d+ tokens \([\d.]+ tokens\/doc, int32, ids\)/);
    const ds = IndexedDataset.open(join(dir, "raw"));
    expect(ds.dtype).toBe("int32");
    const first = Array.from(ds.get(0));
    expect(first[0]).not.toBe(1);
    expect(first[first.length - 1]).not.toBe(2);
  });

  test("bad inputs fail with one line, exit 1, and leave nothing behind", () => {
    const dir = tmp();
    const corrupt = join(dir, "corrupt.jsonl.zst");
    writeFileSync(corrupt, readFileSync(sample).subarray(0, 3000));
    const badModel = join(dir, "bad.model");
    writeFileSync(badModel, "not a model");
    const cases: [string[], RegExp][] = [
      [["--input", corrupt, "--out", join(dir, "a")], /corrupt\.jsonl\.zst/],
      [
        ["--input", sample, "--out", join(dir, "b"), "--tokenizer", badModel],
        /^biomed-llama: --tokenizer \S*bad\.model: not a usable SentencePiece model/,
      ],
      [["--input", join(dir, "nothing-here.jsonl"), "--out", join(dir, "c")], /nothing-here/],
    ];
    for (const [args, re] of cases) {
      const r = run(...args);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(readdirSync(dir).sort()).toEqual(["bad.model", "corrupt.jsonl.zst"]);
  });

  test("refuses an existing dataset before any work, naming --out; --overwrite replaces it", () => {
    const dir = tmp();
    writeFileSync(join(dir, "x.idx"), "keep");
    const r = run("--input", sample, "--out", join(dir, "x"));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `biomed-llama: --out ${join(dir, "x.idx")}: already exists; pass --overwrite to replace it, or pick another path\n`,
    );
    expect(readdirSync(dir)).toEqual(["x.idx"]);
    expect(readFileSync(join(dir, "x.idx"), "utf8")).toBe("keep");
    writeFileSync(join(dir, "y.stats.json"), "{}");
    expect(run("--input", sample, "--out", join(dir, "y")).stderr).toContain(
      `--out ${join(dir, "y.stats.json")}: already exists`,
    );
    const ok = run("--input", sample, "--out", join(dir, "x"), "--overwrite", "--workers", "1");
    expect(ok.status, ok.stderr).toBe(0);
    expect(IndexedDataset.open(join(dir, "x")).numDocuments).toBe(40);
    expect(readdirSync(dir).sort()).toEqual(["x.bin", "x.idx", "x.stats.json", "y.stats.json"]);
  });

  test("flags are checked before any work: --subsets against The Pile's names, --out's folder", () => {
    const dir = tmp();
    const r = run("--input", sample, "--out", join(dir, "x"), "--subsets", "PubMed Centrall");
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^biomed-llama: --subsets: unknown Pile subset "PubMed Centrall" \(did you mean "PubMed Central"\?\); known: "Pile-CC", .*"Enron Emails", or "all"$/m,
    );
    const nowhere = join(dir, "no", "x");
    const n = run("--input", sample, "--out", nowhere);
    expect(n.stderr).toBe(
      `biomed-llama: --out ${nowhere}: ${join(dir, "no")} is not an existing directory\n`,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  test("interrupted mid-run (SIGINT): exit 130, no dataset and no temp files left", async () => {
    const dir = tmp();
    const texts: string[] = [];
    for await (const doc of new PileReader({ inputs: sample, subsets: "all" })) texts.push(doc.text);
    // Enough text that the run is still going when the signal arrives.
    const lines = Array.from({ length: 20_000 }, (_, i) =>
      JSON.stringify({
        text: `${i} ${texts[i % texts.length]}`,
        meta: { pile_set_name: "PubMed Abstracts" },
      }),
    );
    writeFileSync(join(dir, "big.jsonl"), `${lines.join("\n")}\n`);
    const child = spawn(process.execPath, [
      cli,
      "tokenize",
      "--input",
      join(dir, "big.jsonl"),
      "--out",
      join(dir, "pm"),
    ]);
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    // Wait until the writer's temporary .bin exists, i.e. tokenizing has started.
    while (!readdirSync(dir).some((f) => f.startsWith(".pm.bin.tmp"))) {
      if (child.exitCode !== null) throw new Error(`tokenize ended early: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGINT");
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted; nothing written/);
    expect(readdirSync(dir)).toEqual(["big.jsonl"]);
  }, 60_000);
});
