// A full disk, played by a file size limit: under `ulimit -f` a write past the limit fails with
// EFBIG (Node ignores SIGXFSZ), as one past a full disk fails with ENOSPC. Every command that
// writes must then exit 1 with one line naming the file, leave no partial output (no temp file, no
// directory it created), and leave what was there before exactly as it was.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const sample = join(repoRoot, "packages/tokenizer/test/fixtures/pubmed-sample.jsonl.zst");

/** Runs the CLI with files limited to `kib` KiB. */
function limited(kib: number, args: string[]) {
  return spawnSync("bash", ["-c", `ulimit -f ${kib}; exec "$0" "$@"`, process.execPath, cli, ...args], {
    encoding: "utf8",
  });
}

/** Every file under `dir` with its bytes, to prove nothing was touched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out[`${relative(dir, p)}/`] = "";
        walk(p);
      } else out[relative(dir, p)] = `${statSync(p).mtimeMs} ${readFileSync(p).toString("base64")}`;
    }
  };
  walk(dir);
  return out;
}

/** A work dir holding a file the command must not touch. */
function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "cli-safe-"));
  writeFileSync(join(dir, "keep.txt"), "keep");
  return dir;
}

function expectOneError(r: ReturnType<typeof limited>, file: string): void {
  expect(r.status, r.stderr).toBe(1);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("biomed-llama:"));
  expect(errors).toEqual([
    `biomed-llama: ${file}: file too large (file system limit or the process's file size limit, ulimit -f) (EFBIG)`,
  ]);
}

describe("a write that hits the file size limit (EFBIG, as ENOSPC would)", () => {
  test("init: names model.safetensors; no checkpoint, no parents; an --overwrite target stays whole", () => {
    const dir = workDir();
    const before = snapshot(dir);
    const out = join(dir, "a", "ckpt");
    expectOneError(
      limited(1000, ["init", "--preset", "tiny-llama", "--out", out]),
      join(out, "model.safetensors"),
    );
    expect(snapshot(dir)).toEqual(before);

    const old = join(dir, "old");
    expect(limited(100_000, ["init", "--preset", "tiny-llama", "--out", old, "--seed", "1"]).status).toBe(0);
    const kept = snapshot(dir);
    expectOneError(
      limited(1000, ["init", "--preset", "tiny-llama", "--out", old, "--overwrite"]),
      join(old, "model.safetensors"),
    );
    expect(snapshot(dir)).toEqual(kept);
  });

  test("extract: names the shard; no --out directory and no staging directory left", () => {
    const dir = workDir();
    // Hex text compresses only about 2:1, so the shard outgrows a 32 KiB limit.
    const lines = Array.from({ length: 200 }, (_, i) =>
      JSON.stringify({
        text: Array.from({ length: 64 }, (_, j) =>
          ((i * 7919 + j * 104729) ** 2 % 2 ** 48).toString(16),
        ).join(" "),
        meta: { pile_set_name: "PubMed Abstracts" },
      }),
    );
    const input = join(dir, "in.jsonl");
    writeFileSync(input, `${lines.join("\n")}\n`);
    const before = snapshot(dir);
    const out = join(dir, "x", "out");
    expectOneError(
      limited(32, ["extract", "--input", input, "--out", out, "--level", "1"]),
      join(out, "pubmed-abstracts-00000.jsonl.zst"),
    );
    expect(snapshot(dir)).toEqual(before);
  });

  test("tokenize: names PREFIX.bin; no dataset or temp file; an --overwrite target stays whole", () => {
    const dir = workDir();
    const before = snapshot(dir);
    const prefix = join(dir, "pm");
    expectOneError(
      limited(20, ["tokenize", "--input", sample, "--out", prefix, "--workers", "1"]),
      `${prefix}.bin`,
    );
    expect(snapshot(dir)).toEqual(before);

    expect(limited(100_000, ["tokenize", "--input", sample, "--out", prefix, "--workers", "1"]).status).toBe(
      0,
    );
    const kept = snapshot(dir);
    expectOneError(
      limited(20, ["tokenize", "--input", sample, "--out", prefix, "--workers", "1", "--overwrite"]),
      `${prefix}.bin`,
    );
    expect(snapshot(dir)).toEqual(kept);
  });

  test("instruct-mix: names --out; neither the mixture nor its stats nor the folder is left", () => {
    const dir = workDir();
    const before = snapshot(dir);
    const out = join(dir, "m", "mix.jsonl");
    const r = limited(4, [
      "instruct-mix",
      "--config",
      join(repoRoot, "configs/mix-sample.json"),
      "--out",
      out,
      "--draws",
      "500",
    ]);
    expectOneError(r, out);
    expect(snapshot(dir)).toEqual(before);
  });

  test("report and plot: name the file; no temp file is left, earlier outputs stay", () => {
    const dir = workDir();
    const run = join(dir, "run");
    mkdirSync(run);
    const rows = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({
        step: i + 1,
        total_steps: 30,
        loss: 3 - i / 30,
        lr: 1e-3,
        grad_norm: 1,
        tokens_per_s: 100,
      }),
    );
    writeFileSync(join(run, "metrics.jsonl"), `${rows.join("\n")}\n`);
    writeFileSync(join(run, "loss.svg"), "an older plot");
    const before = snapshot(dir);
    const out = join(dir, "report.html");
    expectOneError(limited(8, ["report", run, "--out", out]), out);
    expect(snapshot(dir)).toEqual(before);
    expectOneError(limited(8, ["plot", run]), join(run, "loss.svg"));
    expect(snapshot(dir)).toEqual(before);
  });
});
