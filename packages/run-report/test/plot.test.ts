import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataFormatError } from "@biomed-llama/trainer";
import { expect, test } from "vitest";
import { plotRun, runningAverage } from "../src/plot";

test("runningAverage equals a naive trailing mean and skips non-finite values", () => {
  const xs = [5, 3, Number.NaN, 8, 1, 6, 2];
  const w = 3;
  const naive = xs.map((_, i) => {
    const win = xs.slice(Math.max(0, i - w + 1), i + 1).filter(Number.isFinite);
    return win.reduce((a, b) => a + b, 0) / win.length;
  });
  runningAverage(xs, w).forEach((v, i) => {
    expect(v).toBeCloseTo(naive[i], 12);
  });
});

test("plotRun writes an SVG with the three panels and a PNG", async () => {
  const run = mkdtempSync(join(tmpdir(), "plot-"));
  const lines: string[] = [];
  for (let step = 1; step <= 60; step++)
    lines.push(
      JSON.stringify({
        step,
        total_steps: 60,
        loss: step === 30 ? "NaN" : 4 / Math.sqrt(step),
        lr: 1e-3,
        grad_norm: 1,
        tokens_per_s: 100 + step,
      }),
    );
  lines.push(JSON.stringify({ step: 30, eval_loss: 1.1, eval_tokens: 10 }));
  writeFileSync(join(run, "metrics.jsonl"), `${lines.join("\n")}\n{"step": 61, "lo`);
  const out = await plotRun(run, { smoothWindow: 5 });
  expect(out.steps).toBe(60);
  const svg = readFileSync(out.svg, "utf8");
  expect(svg.startsWith("<svg")).toBe(true);
  for (const t of ["loss (running average over 5 steps)", "learning rate", "throughput", "tokens/s"])
    expect(svg).toContain(t);
  expect((svg.match(/<path/g) ?? []).length).toBeGreaterThan(4);
  const png = readFileSync(out.png!);
  expect([...png.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  expect(png.readUInt32BE(16)).toBeGreaterThan(600); // IHDR width at zoom 2
}, 60_000);

test("plotRun on a dir without metrics names the file", async () => {
  const run = mkdtempSync(join(tmpdir(), "plot-"));
  await expect(plotRun(run)).rejects.toThrow(DataFormatError);
  await expect(plotRun(run)).rejects.toThrow(/metrics\.jsonl: not found/);
});
