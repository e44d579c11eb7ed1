import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const repoRoot = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const sampleConfig = join(repoRoot, "configs/mix-sample.json");
const work = mkdtempSync(join(tmpdir(), "cli-instruct-mix-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Each case spawns the CLI (whole command tree); on a shared, loaded machine that takes seconds.
const SPAWN_TIMEOUT_MS = 120_000;

const run = (...args: string[]) =>
  spawnSync(process.execPath, [cli, "instruct-mix", ...args], { encoding: "utf8", cwd: work });

describe("biomed-llama instruct-mix", () => {
  test(
    "mixes the bundled samples: JSONL of --draws lines, mix-stats.json, the table on stdout",
    () => {
      const out = join(work, "a", "mix.jsonl");
      const r = run("--config", sampleConfig, "--out", out, "--draws", "500", "--seed", "11");
      expect(r.status, r.stderr).toBe(0);
      const lines = readFileSync(out, "utf8").trimEnd().split("\n");
      expect(lines).toHaveLength(500);
      const first = JSON.parse(lines[0]);
      expect(first.prompt.endsWith("\n")).toBe(true);
      expect(first.prompt + first.completion).toContain(first.output);
      const stats = JSON.parse(readFileSync(join(work, "a", "mix-stats.json"), "utf8"));
      expect(stats.draws).toBe(500);
      expect(stats.seed).toBe(11);
      const realisedDraws = stats.rows.reduce((a: number, row: { drawn: number }) => a + row.drawn, 0);
      expect(realisedDraws).toBe(500);
      expect(r.stdout.split("\n")[0].split(/\s{2,}/)).toEqual([
        "source",
        "samples",
        "weight",
        "target %",
        "realised %",
      ]);
      expect(r.stdout).toMatch(/^usmleqa\/train\s+6\s+3\s+17\.21\s/m); // 18 / 104.6 of the sample mass
      expect(r.stderr).toContain("loaded mmlu-cot: 15 records");
    },
    SPAWN_TIMEOUT_MS,
  );

  test(
    "--json prints the stats; the same seed gives the same file; --stats moves the stats file",
    () => {
      const a = join(work, "b", "one.jsonl");
      const b = join(work, "b", "two.jsonl");
      const stats = join(work, "b", "two-stats.json");
      const r1 = run("--config", sampleConfig, "--out", a, "--draws", "300", "--json");
      const r2 = run("--config", sampleConfig, "--out", b, "--draws", "300", "--stats", stats, "--dedup");
      expect(r1.status, r1.stderr).toBe(0);
      expect(r2.status, r2.stderr).toBe(0);
      const parsed = JSON.parse(r1.stdout);
      expect(parsed.seed).toBe(42); // from the config
      expect(parsed.rows.length).toBeGreaterThan(9);
      expect(readFileSync(a, "utf8")).toBe(readFileSync(b, "utf8"));
      expect(JSON.parse(readFileSync(stats, "utf8")).dedup).toBe(true);
      expect(readdirSync(join(work, "b")).sort()).toEqual([
        "mix-stats.json",
        "one.jsonl",
        "two-stats.json",
        "two.jsonl",
      ]);
    },
    SPAWN_TIMEOUT_MS,
  );

  test(
    "large draws report progress with rate and ETA on stderr",
    () => {
      const out = join(work, "p", "mix.jsonl");
      const r = run("--config", sampleConfig, "--out", out, "--draws", "60000");
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^instruct-mix: \d+\/60000 draws \([\d.]+%\) \| [\d.]+ draws\/s \| ETA /m);
      expect(readFileSync(out, "utf8").trimEnd().split("\n")).toHaveLength(60000);
    },
    SPAWN_TIMEOUT_MS,
  );

  test(
    "malformed records are warned about with file and index, and counted",
    () => {
      const fixtures = join(repoRoot, "packages/instruct-mixer/test/fixtures/malformed");
      const cfg = join(work, "bad-records.json");
      writeFileSync(
        cfg,
        JSON.stringify({ sources: [{ adapter: "medqa", path: join(fixtures, "medqa.jsonl") }] }),
      );
      const r = run("--config", cfg, "--out", join(work, "c", "mix.jsonl"), "--draws", "10");
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        /warning: 5 malformed record\(s\) skipped in .*medqa\.jsonl \(first: record 1: line 2 is not valid JSON/,
      );
      expect(r.stdout).toContain("5 malformed record(s) skipped");
      const strict = run("--config", cfg, "--out", join(work, "d", "mix.jsonl"), "--strict");
      expect(strict.status).toBe(1);
      expect(strict.stderr.trim().split("\n").at(-1)).toMatch(
        /^biomed-llama: .*medqa\.jsonl \[record 1\]: line 2 is not valid JSON/,
      );
      expect(() => readdirSync(join(work, "d"))).toThrow();
    },
    SPAWN_TIMEOUT_MS,
  );

  test(
    "bad input exits 1 with one line naming the file or field",
    () => {
      const cfg = join(work, "bad.json");
      writeFileSync(
        cfg,
        JSON.stringify({ sources: [{ adapter: "medqa", path: "nope.jsonl", weight: "3" }] }),
      );
      const r = run("--config", cfg, "--out", join(work, "e.jsonl"));
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toMatch(
        /^biomed-llama: .*bad\.json: "sources\[0\]\.weight" must be a number >= 0$/,
      );

      writeFileSync(cfg, JSON.stringify({ sources: [{ adapter: "medqa", path: "nope.jsonl" }] }));
      const missing = run("--config", cfg, "--out", join(work, "e.jsonl"));
      expect(missing.status).toBe(1);
      expect(missing.stderr.trim().split("\n").at(-1)).toMatch(
        /^biomed-llama: .*nope\.jsonl: file not found$/,
      );

      const badDraws = run("--config", sampleConfig, "--out", join(work, "e.jsonl"), "--draws", "-4");
      expect(badDraws.status).not.toBe(0);
      expect(badDraws.stderr).toMatch(/expected a non-negative integer, got "-4"/);
      expect(readdirSync(work).filter((f) => f.startsWith("e") || f.startsWith(".e"))).toEqual([]);
    },
    SPAWN_TIMEOUT_MS,
  );

  test(
    "an existing --out or stats file is refused before any work; --overwrite replaces both",
    () => {
      const dir = join(work, "keep");
      const out = join(dir, "mix.jsonl");
      const args = ["--config", sampleConfig, "--out", out, "--draws", "50"];
      expect(run(...args).status).toBe(0);
      const before = readFileSync(out, "utf8");
      const again = run(...args, "--seed", "5");
      expect(again.status).toBe(1);
      expect(again.stderr).toBe(
        `biomed-llama: --out ${out}: already exists; pass --overwrite to replace it, or pick another path\n`,
      );
      expect(readFileSync(out, "utf8")).toBe(before);
      // A new --out beside an existing mix-stats.json would replace that one: refused as well.
      const other = join(dir, "other.jsonl");
      const stats = run("--config", sampleConfig, "--out", other, "--draws", "50");
      expect(stats.status).toBe(1);
      expect(stats.stderr).toBe(
        `biomed-llama: --stats ${join(dir, "mix-stats.json")}: already exists; pass --overwrite to replace it, or pick another path\n`,
      );
      expect(readdirSync(dir).sort()).toEqual(["mix-stats.json", "mix.jsonl"]);
      const ok = run(...args, "--seed", "5", "--overwrite");
      expect(ok.status, ok.stderr).toBe(0);
      expect(readFileSync(out, "utf8")).not.toBe(before);
      expect(JSON.parse(readFileSync(join(dir, "mix-stats.json"), "utf8")).seed).toBe(5);
      expect(readdirSync(dir).sort()).toEqual(["mix-stats.json", "mix.jsonl"]);
    },
    SPAWN_TIMEOUT_MS,
  );

  test(
    "a --stats path that cannot be written fails before any work: no mixture without its stats",
    () => {
      const dir = join(work, "nostats");
      const blocker = join(work, "blocker");
      writeFileSync(blocker, "a file, not a folder");
      const r = run(
        "--config",
        sampleConfig,
        "--out",
        join(dir, "mix.jsonl"),
        "--stats",
        join(blocker, "stats.json"),
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(
        `biomed-llama: --stats ${join(blocker, "stats.json")}: ${blocker} is not a directory\n`,
      );
      expect(() => readdirSync(dir)).toThrow(/ENOENT/);
      expect(readFileSync(blocker, "utf8")).toBe("a file, not a folder");
    },
    SPAWN_TIMEOUT_MS,
  );
});
