// biomed-llama generate on a BF16 checkpoint with the native backend: weights held as bfloat16 by
// default, the same tokens as --weights f32, load progress on stderr from the first byte. Skipped only
// where the native backend is not built (never in CI).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setBackend } from "@biomed-llama/llama-model";
import { afterAll, beforeAll, expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
let work: string;
let modelDir: string;
let native = false;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gen-bf16-"));
  modelDir = join(work, "tiny");
  execFileSync(process.execPath, [
    ...[cli, "init", "--preset", "tiny-llama", "--out", modelDir, "--seed", "3", "--dtype", "BF16"],
  ]);
  native = await setBackend("native").then(
    () => true,
    (e) => {
      if (process.env.CI) throw e;
      return false;
    },
  );
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

function gen(extra: string[]) {
  const r = spawnSync(
    process.execPath,
    [cli, "generate", "--model", modelDir, "--prompt", "Aspirin inhibits", "--max-new-tokens", "8"].concat(
      ["--backend", "native"],
      extra,
    ),
    { encoding: "utf8" },
  );
  expect(r.status, r.stderr).toBe(0);
  return r;
}

test("--weights bf16 (default) generates the tokens --weights f32 does", { timeout: 60_000 }, (ctx) => {
  if (!native) ctx.skip();
  const held = gen(["--json", "--temperature", "0"]);
  const wide = gen(["--json", "--weights", "f32"]);
  expect(JSON.parse(held.stdout).ids).toHaveLength(8);
  expect(JSON.parse(held.stdout).ids).toEqual(JSON.parse(wide.stdout).ids);
  const text = gen([]);
  const lines = text.stderr.trim().split("\n");
  expect(lines[0]).toMatch(/^load: 0\.0\/\d+\.\d MB \(0\.0%\)/);
  expect(text.stderr).toMatch(/loaded .* GB of weights \(bfloat16, 2 bytes\/parameter\) on native/);
  expect(text.stderr).toMatch(/8 tokens in [\d.]+ s/);
});
