// biomed-eval run on the webgpu backend (Dawn on Mesa's llvmpipe in CI) picks the same answers as the
// cpu backend on 20 MedQA questions, with every log-likelihood within 1e-4 relative, and its log names
// the adapter. Skipped only where no WebGPU adapter exists (never in CI).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { initHFCheckpoint, LLAMA_PRESETS, setBackend } from "@biomed-llama/llama-model";
import { afterAll, beforeAll, expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const exec = promisify(execFile);
let work: string;
let model: string;
let gpu = false;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "biomed-eval-webgpu-"));
  model = join(work, "tiny");
  await initHFCheckpoint(LLAMA_PRESETS["tiny-llama"], model, { seed: 5 });
  gpu = await setBackend("webgpu").then(
    () => true,
    (e) => {
      if (process.env.CI) throw e;
      return false;
    },
  );
  await setBackend("cpu");
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Sample {
  doc_id: number;
  filtered_resps: [number, boolean][];
  acc: number;
}

async function evaluate(backend: string) {
  const out = join(work, backend);
  const r = await exec(
    process.execPath,
    [cli, "run", "--model", model, "--tasks", "medqa_4options", "--limit", "20", "--backend", backend].concat(
      ["--output", out, "--no-cache", "--log-samples"],
    ),
    { encoding: "utf8", maxBuffer: 1 << 26 },
  );
  const samples = readFileSync(join(out, "samples_medqa_4options.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Sample);
  return { stderr: r.stderr, samples };
}

const pick = (s: Sample) => {
  const ll = s.filtered_resps.map((r) => r[0]);
  return ll.indexOf(Math.max(...ll));
};

test("20 MedQA questions: the cpu backend's picks and log-likelihoods", { timeout: 300_000 }, async (ctx) => {
  if (!gpu) ctx.skip();
  const cpu = await evaluate("cpu");
  const webgpu = await evaluate("webgpu");
  expect(webgpu.stderr).toMatch(/GB of weights \(float32\) on webgpu \(.+, binding limit \d+ MiB\)/);
  expect(webgpu.samples.map((s) => s.doc_id)).toEqual(cpu.samples.map((s) => s.doc_id));
  expect(cpu.samples).toHaveLength(20);
  expect(webgpu.samples.map(pick)).toEqual(cpu.samples.map(pick));
  expect(webgpu.samples.map((s) => s.acc)).toEqual(cpu.samples.map((s) => s.acc));
  for (const [i, s] of cpu.samples.entries())
    s.filtered_resps.forEach(([want], k) => {
      const got = webgpu.samples[i].filtered_resps[k][0];
      expect(
        Math.abs(got - want) / Math.abs(want),
        `doc ${s.doc_id} choice ${k}: ${got} vs ${want}`,
      ).toBeLessThan(1e-4);
    });
});
