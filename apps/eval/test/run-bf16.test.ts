// biomed-eval run on a BF16 checkpoint with the native backend: the weights stay bfloat16 by default
// (--weights bf16), the scores equal a --weights f32 run's, load progress is printed before anything
// else, and the results record the storage. Skipped only where the native backend is not built (never in CI).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { initHFCheckpoint, LLAMA_PRESETS, setBackend } from "@biomed-llama/llama-model";
import { afterAll, beforeAll, expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const exec = promisify(execFile);
const run = (args: string[]) =>
  exec(process.execPath, [cli, ...args], { encoding: "utf8", maxBuffer: 1 << 26 });

let work: string;
let model: string;
let native = false;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "biomed-eval-bf16-"));
  model = join(work, "tiny-bf16");
  await initHFCheckpoint(LLAMA_PRESETS["tiny-llama"], model, { seed: 5, dtype: "BF16" });
  native = await setBackend("native").then(
    () => true,
    (e) => {
      if (process.env.CI) throw e;
      return false;
    },
  );
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

test("--weights bf16 (default) scores as --weights f32 does, with load progress first", {
  timeout: 300_000,
}, async (ctx) => {
  if (!native) ctx.skip();
  const base = ["run", "--model", model, "--tasks", "medqa_4options", "--limit", "3", "--backend", "native"];
  const held = await run([...base, "--output", join(work, "held"), "--no-cache", "--json", "--log-samples"]);
  const wide = await run([
    ...base,
    ...["--weights", "f32", "--output", join(work, "wide"), "--no-cache", "--json", "--log-samples"],
  ]);
  const a = JSON.parse(held.stdout);
  const b = JSON.parse(wide.stdout);
  expect(a.config.weights).toBe("bf16");
  expect(b.config.weights).toBe("f32");
  expect(a.results.medqa_4options["acc,none"]).toBe(b.results.medqa_4options["acc,none"]);
  expect(a.results.medqa_4options["acc_norm,none"]).toBe(b.results.medqa_4options["acc_norm,none"]);
  // The first thing printed is the load's progress, from 0 bytes.
  const lines = held.stderr.trim().split("\n");
  expect(lines[0]).toMatch(/^biomed-eval load: 0\.00\/0\.\d\d GB \(0\.0%\)/);
  expect(held.stderr).toMatch(/biomed-eval load: 0\.\d\d\/0\.\d\d GB \(100\.0%\)/);
  expect(held.stderr).toMatch(/loaded .* GB of weights \(bfloat16, 2 bytes\/parameter\) on native/);
  expect(wide.stderr).toMatch(/GB of weights \(float32\) on native/);
});

test("--weights must be bf16 or f32", async () => {
  const e = await run([
    "run",
    "--model",
    model,
    "--tasks",
    "medqa_4options",
    "--weights",
    "fp8",
    "--output",
    join(work, "x"),
  ]).then(
    () => null,
    (err) => err as { code: number; stderr: string },
  );
  expect(e?.code).not.toBe(0);
  expect(e?.stderr).toMatch(/--weights must be bf16 or f32/);
});
