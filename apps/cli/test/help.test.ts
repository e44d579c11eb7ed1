import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

test("biomed-llama --help names the program", () => {
  const out = execFileSync(process.execPath, [cli, "--help"], { encoding: "utf8" });
  expect(out).toContain("Usage: biomed-llama");
});

test("every command that writes to a path the user names offers --overwrite", () => {
  for (const command of ["init", "extract", "tokenize", "instruct-mix", "report"]) {
    const out = execFileSync(process.execPath, [cli, command, "--help"], { encoding: "utf8" });
    expect(out, command).toMatch(/^ {2}--overwrite {2,}\S/m);
  }
});

test("a bad flag value or an unknown flag is one line naming the flag, exit 1, no help dump", () => {
  for (const args of [
    ["extract", "--input", "x", "--out", "y", "--level", "99"],
    ["init", "--preset", "nope", "--out", "y"],
    ["pretrain", "--bogus"],
  ]) {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
    expect(r.status, args.join(" ")).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines, args.join(" ")).toHaveLength(1);
    expect(lines[0]).toMatch(/--level|--preset|--bogus/);
  }
});
