// pretrain on the webgpu backend (Dawn on Mesa's llvmpipe in CI) follows the cpu backend's loss trace,
// on one rank and sharded over two (parameters and gradients go through host memory for the
// collectives), and the run log names the adapter. Skipped only where no WebGPU adapter exists (never
// in CI, whose setup installs the backports Mesa).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { setBackend } from "@biomed-llama/llama-model";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { losses, type TinyInputs, tinyInputs, trainFlags } from "./helpers/tiny-run";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const exec = promisify(execFile);
let dir: string;
let inputs: TinyInputs;
let gpu = false;
let reference: Map<number, number>;

const flags = (out: string, backend: string, extra: string[] = []) => [
  ...trainFlags(inputs, out, { microBatch: 1, saveInterval: 4 }).slice(0, -2),
  "--backend",
  backend,
  ...extra,
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cli-webgpu-"));
  inputs = await tinyInputs(dir);
  gpu = await setBackend("webgpu").then(
    () => true,
    (e) => {
      if (process.env.CI) throw e;
      return false;
    },
  );
  await setBackend("cpu");
  const ref = join(dir, "cpu");
  await exec(process.execPath, [cli, "pretrain", ...flags(ref, "cpu")]);
  reference = losses(ref);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectSameTrace(run: string) {
  const got = losses(run);
  expect([...got.keys()]).toEqual([...reference.keys()]);
  expect(got.size).toBe(8);
  for (const [step, want] of reference) {
    const rel = Math.abs((got.get(step) as number) - want) / Math.abs(want);
    expect(rel, `step ${step}: ${got.get(step)} vs cpu ${want}`).toBeLessThan(1e-4);
  }
}

describe("pretrain --backend webgpu", () => {
  test("one rank: the cpu loss trace within 1e-4 relative; the log names the adapter", async (ctx) => {
    if (!gpu) ctx.skip();
    const out = join(dir, "webgpu");
    const r = await exec(process.execPath, [cli, "pretrain", ...flags(out, "webgpu")], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toMatch(/backend webgpu \(.+, binding limit \d+ MiB\), sharding none/);
    expectSameTrace(out);
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    expect(config.backend).toBe("webgpu");
  });

  // full is ZeRO-3 (the model runs unit by unit from gathered shards), grad-op ZeRO-2.
  test.for(["full", "grad-op"])(
    "two ranks, --sharding %s: the cpu loss trace within 1e-4 relative",
    async (strategy, ctx) => {
      if (!gpu) ctx.skip();
      const out = join(dir, `webgpu-${strategy}`);
      await exec(process.execPath, [
        cli,
        "launch",
        "--nproc-per-node",
        "2",
        "--",
        "pretrain",
        ...flags(out, "webgpu", ["--sharding", strategy]),
      ]);
      expectSameTrace(out);
    },
  );
});
