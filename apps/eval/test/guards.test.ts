// Nothing lost, nothing wasted: every biomed-eval output is checked before the model loads, results are
// written whole or not at all (also when the disk is full or a file size limit is hit: one line naming
// the file), the request cache survives a torn last line, and NaN weights are named. Real CLI, tiny real
// checkpoints, the bundled data.
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  initHFCheckpoint,
  LLAMA_PRESETS,
  LlamaForCausalLM,
  saveHFStateDict,
  setBackend,
} from "@biomed-llama/llama-model";
import { beforeAll, describe, expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const exec = promisify(execFile);
const run = (args: string[]) =>
  exec(process.execPath, [cli, ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
/** The CLI under a file size limit of `kib` KiB (bash's ulimit -f counts 1024-byte blocks): writes past it fail with EFBIG. */
const runLimited = (kib: number, args: string[]) =>
  spawnSync("bash", ["-c", `ulimit -f ${kib}; exec "$@"`, "bash", process.execPath, cli, ...args], {
    encoding: "utf8",
  });
const runFail = async (args: string[]) => {
  try {
    await run(args);
  } catch (e) {
    return e as { code: number; stderr: string };
  }
  throw new Error("expected a non-zero exit");
};
/** One line on stderr, exit 1, and the model never loaded (no load progress, no "loaded"). */
const refusedEarly = (e: { code: number; stderr: string }) => {
  expect(e.code).toBe(1);
  expect(e.stderr.trim().split("\n")).toHaveLength(1);
  expect(e.stderr).not.toMatch(/loaded|biomed-eval load/);
};
const jsonLines = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));

let work: string;
let model: string;
const TASKS = "pubmedqa,pile_pubmed_abstracts";
const base = () => ["run", "--model", model, "--tasks", TASKS, "--limit", "2", "--backend", "wasm"];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "biomed-eval-guards-"));
  model = join(work, "tiny");
  await initHFCheckpoint(LLAMA_PRESETS["tiny-llama"], model, { seed: 5 });
}, 120_000);

describe("outputs are checked before the model loads", () => {
  test("run --output: a file, or a folder with results, is refused naming --output; --overwrite replaces", {
    timeout: 120_000,
  }, async () => {
    const file = join(work, "results-file");
    writeFileSync(file, "keep");
    const e1 = await runFail([...base(), "--output", file]);
    refusedEarly(e1);
    expect(e1.stderr.trim()).toBe(
      `biomed-eval: --output ${file}: exists and is not a directory; pick another path`,
    );
    expect(readFileSync(file, "utf8")).toBe("keep");

    const out = join(work, "out1");
    const first = await run([...base(), "--output", out, "--json"]);
    const notes = join(out, "notes.txt");
    writeFileSync(notes, "mine");
    const e2 = await runFail([...base(), "--output", out]);
    refusedEarly(e2);
    expect(e2.stderr.trim()).toBe(
      `biomed-eval: --output ${out}: already exists and is not empty; pass --overwrite to replace it, or pick another path`,
    );
    expect(readFileSync(notes, "utf8")).toBe("mine");

    const again = await run([...base(), "--output", out, "--json", "--overwrite"]);
    expect(again.stderr).toMatch(/answered from the cache/); // the cache was kept
    expect(JSON.parse(again.stdout).results).toEqual(JSON.parse(first.stdout).results);
    expect(readdirSync(out).sort()).toEqual(["requests-cache.jsonl", "results.json", "results.md"]);
  });

  test("score --output: an existing file is refused before the model loads", {
    timeout: 60_000,
  }, async () => {
    const reqs = join(work, "reqs.jsonl");
    writeFileSync(reqs, `${JSON.stringify({ context: "Q: ok?\nA:", continuation: " yes" })}\n`);
    const out = join(work, "scores.jsonl");
    writeFileSync(out, "keep\n");
    const e = await runFail(["score", "--model", model, "--requests", reqs, "--output", out]);
    refusedEarly(e);
    expect(e.stderr.trim()).toBe(
      `biomed-eval: --output ${out}: already exists; pass --overwrite to replace it, or pick another path`,
    );
    expect(readFileSync(out, "utf8")).toBe("keep\n");
    await run([
      "score",
      "--model",
      model,
      "--requests",
      reqs,
      "--output",
      out,
      "--overwrite",
      "--backend",
      "wasm",
    ]);
    expect(jsonLines(out)[0].continuation).toBe(" yes");
  });
});

describe("flags, tasks and lengths are checked before the model loads, each naming its flag", () => {
  test("--max-length too small for the prompts, beyond max_position_embeddings; --tasks naming none", {
    timeout: 60_000,
  }, async () => {
    const out = join(work, "never");
    const small = await runFail([...base(), "--max-length", "1", "--output", out]);
    refusedEarly(small);
    expect(small.stderr).toMatch(
      /^biomed-eval: --max-length 1 is too small for task pubmedqa: 6 of 6 requests \(prompt \+ answer\) are longer, up to \d+ tokens; pass --max-length \d+ or more, or leave it out\n$/,
    );
    const big = await runFail([...base(), "--max-length", "513", "--output", out]);
    refusedEarly(big);
    expect(big.stderr.trim()).toBe(
      `biomed-eval: max length (--max-length) 513 exceeds max_position_embeddings 512 of ${join(model, "config.json")}`,
    );
    const none = await runFail(["run", "--model", model, "--tasks", ",", "--output", out]);
    refusedEarly(none);
    expect(none.stderr).toMatch(/no task given/);
    expect(existsSync(out)).toBe(false);
  });
});

describe("write failures: one line naming the file, nothing half-written, no empty folders", () => {
  test("a file size limit hit while writing the results", { timeout: 120_000 }, async () => {
    const parent = join(work, "efbig");
    const out = join(parent, "a", "b");
    // 8 KiB: the request cache and results.json fit, a samples file does not.
    const r = runLimited(8, [...base(), "--output", out, "--log-samples", "--no-cache"]);
    expect(r.status).toBe(1);
    const last = r.stderr.trim().split("\n").at(-1);
    expect(last).toMatch(
      new RegExp(`^biomed-eval: ${out}/samples_\\w+\\.jsonl: file too large \\(.*\\) \\(EFBIG\\)$`),
    );
    expect(existsSync(parent)).toBe(false); // no results, no temp folder, no empty parents
  });

  test("a file size limit hit while appending to the request cache keeps it whole", {
    timeout: 120_000,
  }, async () => {
    const out = join(work, "efbig-cache");
    const args = ["run", "--model", model, "--tasks", "pubmedqa", "--limit", "20", "--backend", "wasm"];
    const r = runLimited(4, [...args, "--batch-size", "8", "--output", out]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(
      new RegExp(`^biomed-eval: ${out}/requests-cache.jsonl: file too large .*\\(EFBIG\\)$`),
    );
    const cache = join(out, "requests-cache.jsonl");
    expect(readFileSync(cache, "utf8").endsWith("\n")).toBe(true);
    const kept = jsonLines(cache).length;
    expect(kept).toBeGreaterThan(0);
    expect(readdirSync(out)).toEqual(["requests-cache.jsonl"]);
    // An interrupted run's folder (only the cache) is resumed without --overwrite.
    const done = await run([...args, "--batch-size", "8", "--output", out, "--json"]);
    expect(done.stderr).toContain(`resuming from ${cache} (${kept} scored requests)`);
    expect(JSON.parse(readFileSync(join(out, "results.json"), "utf8"))).toEqual(JSON.parse(done.stdout));
  });
});

test("a torn last line of the request cache is dropped with a warning, never glued to the next row", {
  timeout: 120_000,
}, async () => {
  const out = join(work, "torn");
  const first = JSON.parse((await run([...base(), "--output", out, "--json"])).stdout);
  const cache = join(out, "requests-cache.jsonl");
  // Keep the first two rows whole and tear the third, as a crash mid-append leaves it.
  const lines = readFileSync(cache, "utf8").split("\n");
  writeFileSync(cache, `${lines[0]}\n${lines[1]}\n${lines[2].slice(0, 20)}`);
  const again = await run([...base(), "--output", out, "--json", "--overwrite"]);
  expect(again.stderr).toContain(
    `biomed-eval: warning: ${cache}: ignored a torn last line 3 (an interrupted write)`,
  );
  expect(JSON.parse(again.stdout).results).toEqual(first.results);
  const rows = jsonLines(cache); // every line parses
  expect(rows.length).toBe(lines.filter(Boolean).length);
  expect(new Set(rows.map((r) => r.k)).size).toBe(rows.length);
});

test("NaN weights: a warning naming the checkpoint and the first non-finite tensor", {
  timeout: 120_000,
}, async () => {
  const dir = join(work, "nan");
  await setBackend("cpu");
  const cfg = LLAMA_PRESETS["tiny-llama"];
  const m = new LlamaForCausalLM(cfg, { seed: 3 });
  const state = await m.stateDict();
  m.dispose();
  (state.get("model.layers.1.mlp.down_proj.weight") as Float32Array)[10] = Number.POSITIVE_INFINITY;
  await saveHFStateDict(cfg, state, dir);
  const r = await run([
    "run",
    "--model",
    dir,
    "--tasks",
    "pubmedqa",
    "--limit",
    "1",
    "--output",
    join(work, "nan-out"),
  ]);
  expect(r.stderr).toContain(
    `biomed-eval: warning: ${dir}: parameter model.layers.1.mlp.down_proj.weight holds Infinity (at index 10): the checkpoint's weights are not finite, so the scores are meaningless\n`,
  );
});
