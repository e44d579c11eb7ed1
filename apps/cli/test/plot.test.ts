import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const run = promisify(execFile);

test("plot RUN_DIR writes loss.svg and loss.png from metrics.jsonl", async () => {
  const d = mkdtempSync(join(tmpdir(), "cli-plot-"));
  const lines = Array.from({ length: 40 }, (_, i) =>
    JSON.stringify({
      step: i + 1,
      total_steps: 40,
      loss: 5 / (1 + i / 5),
      lr: 1e-4,
      grad_norm: 1,
      tokens_per_s: 1000,
    }),
  );
  writeFileSync(join(d, "metrics.jsonl"), `${lines.join("\n")}\n`);
  const { stdout } = await run(process.execPath, [cli, "plot", d, "--smooth", "4"]);
  expect(stdout.trim().split("\n")).toEqual([join(d, "loss.svg"), join(d, "loss.png")]);
  const svg = readFileSync(join(d, "loss.svg"), "utf8");
  expect(svg).toContain("loss (running average over 4 steps)");
  expect(svg).toContain("learning rate");
  expect(
    [...readFileSync(join(d, "loss.png")).subarray(1, 4)].map((c) => String.fromCharCode(c)).join(""),
  ).toBe("PNG");
});

test("plot on a directory without metrics fails in one line", async () => {
  const d = mkdtempSync(join(tmpdir(), "cli-plot-"));
  const err = await run(process.execPath, [cli, "plot", d]).then(
    () => null,
    (e) => e,
  );
  expect(err?.code).toBe(1);
  expect(err.stderr.trim()).toBe(
    `biomed-llama: ${join(d, "metrics.jsonl")}: not found (is ${d} a training run?)`,
  );
});
