// Nothing of a run is lost or silently wrong: checksummed checkpoints with fallback, no checkpoint of a
// non-finite state, one writer per run directory, a fresh run that refuses (or with overwrite replaces)
// a non-empty directory and takes back what it created when it fails, a metrics log that a resume
// truncates to its checkpoint, and model/data mismatches refused before any work.
import { spawn } from "node:child_process";
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { IndexedDatasetWriter } from "@biomed-llama/tokenizer";
import { beforeAll, describe, expect, test } from "vitest";
import { latestCheckpoint, listCheckpoints, readManifest } from "../src/checkpoint-store";
import { loadConfig } from "../src/config";
import { openPretrainSequences } from "../src/data-sources";
import { CheckpointError, type ConfigError, DataFormatError, NonFiniteLossError } from "../src/errors";
import { readMetrics } from "../src/metrics-log";
import { train } from "../src/train";
import type { CheckpointManifest } from "../src/train-state";
import { countingDataset, tinyCheckpoint, tinyConfig, tmp } from "./helpers/tiny-run";

let ckpt: string;
let prefix: string;

beforeAll(async () => {
  ckpt = await tinyCheckpoint(join(tmp("init"), "hf"));
  prefix = await countingDataset(join(tmp("data"), "counting"));
});

const data = (seqLen = 24, p = prefix) =>
  openPretrainSequences(p, { packing: "pack", seqLen, eosId: 2, padId: 0 });

async function run(
  overrides: Record<string, unknown>,
  extra: Partial<Parameters<typeof train>[0]> = {},
  lines: string[] = [],
) {
  const out = overrides.out ?? join(tmp("run"), "run");
  const config = tinyConfig({ init_from: ckpt, out, ...overrides });
  return train({ config, data: data(config.seq_len), log: (l) => lines.push(l), ...extra });
}

const stepDir = (out: string, step: number) =>
  join(out, "checkpoints", `step-${String(step).padStart(8, "0")}`);

describe("checkpoints carry sizes and sha256 of every file; resume takes the newest that verifies", () => {
  let full: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    full = await run({ max_steps: 6, save_interval: 2, keep_last: 3 });
  }, 60_000);

  /** A run killed after step 5 (checkpoints 2 and 4), with `damage` done to checkpoint 4. */
  async function damagedRun(damage: (dir: string) => void) {
    const out = join(tmp("damaged"), "run");
    await run({ out, max_steps: 6, save_interval: 2, keep_last: 3 }, { stopAfterStep: 5 });
    damage(stepDir(out, 4));
    return out;
  }

  test("the manifest lists every file of the checkpoint with its size and sha256", () => {
    const dir = stepDir(full.runDir, 6);
    const m = readManifest<CheckpointManifest & { files: { path: string; size: number; sha256: string }[] }>(
      dir,
    );
    const paths = m.files.map((f) => f.path);
    expect(paths).toContain("model.safetensors");
    expect(paths).toContain("config.json");
    expect(paths).toContain("train_state/rank-00000-of-00001.safetensors");
    for (const f of m.files) {
      expect(f.size).toBe(statSync(join(dir, f.path)).size);
      expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  test("4 KiB overwritten in the middle (same size): skipped, named, resume continues from the older one", async () => {
    const out = await damagedRun((dir) => {
      const file = join(dir, "train_state", "rank-00000-of-00001.safetensors");
      const size = statSync(file).size;
      const fd = openSync(file, "r+");
      writeSync(fd, Buffer.alloc(Math.min(4096, size >> 2), 0x5a), 0, Math.min(4096, size >> 2), size >> 1);
      closeSync(fd);
      expect(statSync(file).size).toBe(size);
    });
    const warnings: string[] = [];
    expect(latestCheckpoint(out, (m) => warnings.push(m)).step).toBe(2);
    expect(warnings.join("\n")).toMatch(/step-00000004.*rank-00000-of-00001\.safetensors: sha256 differs/);
    const lines: string[] = [];
    const resumed = await run({ out, max_steps: 6, save_interval: 2, keep_last: 3 }, { resume: true }, lines);
    expect(lines.join("\n")).toMatch(/resumed from .*step-00000002 at step 2/);
    expect([...resumed.losses.keys()]).toEqual([3, 4, 5, 6]);
    for (const [step, loss] of resumed.losses) expect(loss).toBe(full.losses.get(step));
    // the damaged step-4 checkpoint was replaced by a good one when the run got there again
    expect(latestCheckpoint(out).step).toBe(6);
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([2, 4, 6]);
  }, 60_000);

  test("a truncated newest checkpoint falls back to the intact older one", async () => {
    const out = await damagedRun((dir) => {
      const file = join(dir, "model.safetensors");
      truncateSync(file, statSync(file).size - 100);
    });
    const warnings: string[] = [];
    expect(latestCheckpoint(out, (m) => warnings.push(m)).step).toBe(2);
    expect(warnings.join("\n")).toMatch(/model\.safetensors: \d+ bytes, the manifest says \d+/);
  }, 60_000);

  test("no checkpoint verifies: one error naming each of them", async () => {
    const out = await damagedRun((dir) => {
      truncateSync(join(dir, "config.json"), 1);
    });
    truncateSync(join(stepDir(out, 2), "model.safetensors"), 10);
    expect(() => latestCheckpoint(out, () => {})).toThrow(CheckpointError);
    expect(() => latestCheckpoint(out, () => {})).toThrow(
      /no checkpoint verifies.*step-00000004.*config\.json.*step-00000002.*model\.safetensors/,
    );
  }, 60_000);
});

describe("a non-finite state is never checkpointed", () => {
  test("a save that falls on a skipped step waits for the next finite step; keep_last keeps good ones", async () => {
    const lines: string[] = [];
    // save every 2 steps, keep 1: steps 4 and 5 are non-finite, 6 is finite again
    const r = await run(
      { max_steps: 6, save_interval: 2, keep_last: 1, max_nonfinite_steps: 3 },
      { poisonSteps: [3, 4] },
      lines,
    );
    expect(lines).toContain("step 4: checkpoint deferred: the step was non-finite");
    expect(listCheckpoints(r.runDir).map((c) => c.step)).toEqual([6]);
    expect(readManifest<CheckpointManifest>(stepDir(r.runDir, 6)).loop.consecutiveNonFinite).toBe(0);
  }, 60_000);

  test("a run stopped by K non-finite steps in a row keeps its last good checkpoint", async () => {
    const out = join(tmp("nan-stop"), "run");
    // steps 3, 4, 5 non-finite: checkpoint 2 is the last good one; 4 must not be written, 2 not pruned
    await expect(
      run(
        { out, max_steps: 8, save_interval: 2, keep_last: 1, max_nonfinite_steps: 3 },
        { poisonSteps: [2, 3, 4] },
      ),
    ).rejects.toThrow(NonFiniteLossError);
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([2]);
    const m = readManifest<CheckpointManifest>(stepDir(out, 2));
    expect(m.loop.consecutiveNonFinite).toBe(0);
    expect(existsSync(join(out, "run.lock"))).toBe(false);
  }, 60_000);
});

describe("one writer per run directory", () => {
  test("a live holder is named and the second writer refused before any work", async () => {
    const out = join(tmp("locked"), "run");
    await run({ out, max_steps: 2, save_interval: 1 });
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      const owner = {
        pid: holder.pid,
        host: hostname(),
        started: "2026-01-01T00:00:00Z",
        procStart: null,
        command: "pretrain",
      };
      writeFileSync(join(out, "run.lock"), JSON.stringify(owner));
      const before = readFileSync(join(out, "metrics.jsonl"), "utf8");
      await expect(run({ out, max_steps: 2, save_interval: 1 }, { resume: true })).rejects.toThrow(
        new RegExp(`${out}: in use by pid ${holder.pid} on ${hostname()}, pretrain`),
      );
      expect(readFileSync(join(out, "metrics.jsonl"), "utf8")).toBe(before);
      expect(readFileSync(join(out, "run.lock"), "utf8")).toBe(JSON.stringify(owner));
    } finally {
      holder.kill("SIGKILL");
    }
  }, 60_000);

  test("a lock left by a process that is gone is taken over and said so", async () => {
    const out = join(tmp("stale"), "run");
    await run({ out, max_steps: 2, save_interval: 1 });
    const dead = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((r) => dead.on("exit", r));
    writeFileSync(
      join(out, "run.lock"),
      JSON.stringify({ pid: dead.pid, host: hostname(), started: "x", procStart: null, command: "pretrain" }),
    );
    const lines: string[] = [];
    await run({ out, max_steps: 3, save_interval: 1 }, { resume: true }, lines);
    expect(lines.join("\n")).toMatch(
      new RegExp(`took over a stale lock \\(pid ${dead.pid} .*no longer running\\)`),
    );
    expect(existsSync(join(out, "run.lock"))).toBe(false);
  }, 60_000);
});

describe("a fresh run and what is already at --out", () => {
  test("a non-empty directory is refused, untouched; overwrite replaces it", async () => {
    const out = join(tmp("fresh"), "run");
    mkdirSync(join(out, "sub"), { recursive: true });
    writeFileSync(join(out, "notes.txt"), "keep");
    await expect(run({ out, max_steps: 2 })).rejects.toThrow(
      new RegExp(`--out ${out}: already exists and is not empty; pass --overwrite`),
    );
    expect(readdirSync(out).sort()).toEqual(["notes.txt", "sub"]);
    // an earlier run's entries are replaced; what a run does not write is kept
    mkdirSync(join(out, "checkpoints", "step-00000099"), { recursive: true });
    writeFileSync(join(out, "metrics.jsonl"), '{"step":99,"loss":1}\n');
    const lines: string[] = [];
    await run({ out, max_steps: 2 }, { overwrite: true }, lines);
    expect(readdirSync(out).sort()).toEqual([
      "checkpoints",
      "config.json",
      "metrics.jsonl",
      "notes.txt",
      "sub",
    ]);
    expect(readdirSync(join(out, "checkpoints"))).toEqual(["step-00000002"]);
    expect(readMetrics(join(out, "metrics.jsonl")).steps.map((m) => m.step)).toEqual([1, 2]);
    expect(readFileSync(join(out, "notes.txt"), "utf8")).toBe("keep");
    expect(lines).toContain(
      `--overwrite: replaced the run in ${out} (kept what the run did not write: notes.txt, sub)`,
    );
  }, 60_000);

  test("a fresh run that fails before its first checkpoint leaves nothing behind", async () => {
    const parent = tmp("fails");
    const out = join(parent, "deep", "run");
    const config = tinyConfig({ init_from: ckpt, out, max_steps: 4 });
    const d = data();
    const boom = new Error("data read failed");
    await expect(
      train({
        config,
        log: () => {},
        data: {
          numSequences: d.numSequences,
          get: (i) => {
            if (i >= 0) throw boom;
            return d.get(i);
          },
        },
      }),
    ).rejects.toBe(boom);
    expect(readdirSync(parent)).toEqual([]);
  }, 60_000);
});

describe("metrics.jsonl", () => {
  test("a resume drops the rows logged after its checkpoint; a torn last line is cut, not glued onto", async () => {
    const out = join(tmp("metrics"), "run");
    await run({ out, max_steps: 6, save_interval: 2 }, { stopAfterStep: 5 });
    // killed in the middle of writing step 6's row
    appendFileSync(join(out, "metrics.jsonl"), '{"step":6,"total_steps":6,"lo');
    const lines: string[] = [];
    await run({ out, max_steps: 6, save_interval: 2 }, { resume: true }, lines);
    expect(lines.join("\n")).toMatch(/dropped 1 rows logged after step 4/);
    const text = readFileSync(join(out, "metrics.jsonl"), "utf8");
    const rows = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(readMetrics(join(out, "metrics.jsonl")).steps).toHaveLength(6);
  }, 60_000);
});

describe("model/data mismatches are refused before any work", () => {
  test("seq_len beyond max_position_embeddings, blamed on the flag when a flag set it", async () => {
    const out = join(tmp("seqlen"), "run");
    const config = tinyConfig({ init_from: ckpt, out, seq_len: 128 });
    await expect(train({ config, data: data(128), log: () => {} })).rejects.toThrow(
      /seq_len: 128 exceeds the model's max_position_embeddings 64/,
    );
    await expect(
      train({ config, data: data(128), log: () => {}, flags: { seq_len: "--seq-len" } }),
    ).rejects.toThrow(/^--seq-len: 128 exceeds the model's max_position_embeddings 64 \(.*hf\)$/);
    expect(existsSync(out)).toBe(false);
  });

  test("a token id beyond the vocabulary names the data file and the checkpoint", async () => {
    const bad = join(tmp("vocab"), "bad");
    const w = new IndexedDatasetWriter(bad, { dtype: "uint16" });
    for (let d = 0; d < 8; d++)
      w.addDocument(Array.from({ length: 30 }, (_, i) => (d === 5 && i === 7 ? 500 : 3 + i)));
    await w.finalize();
    const out = join(tmp("vocab-run"), "run");
    const config = tinyConfig({ init_from: ckpt, out });
    const err = await train({ config, data: data(24, bad), log: () => {} }).catch((e) => e);
    expect(err).toBeInstanceOf(DataFormatError);
    expect(err.message).toBe(`${bad}.bin: token id 500 is outside the vocabulary of ${ckpt} (vocab_size 96)`);
    expect(existsSync(out)).toBe(false);
    // int32 data can hold a negative id, which no vocabulary has
    const neg = join(tmp("vocab"), "negative");
    const w32 = new IndexedDatasetWriter(neg, { dtype: "int32" });
    for (let d = 0; d < 8; d++)
      w32.addDocument(Array.from({ length: 30 }, (_, i) => (d === 2 && i === 0 ? -5 : 3 + i)));
    await w32.finalize();
    await expect(train({ config, data: data(24, neg), log: () => {} })).rejects.toThrow(
      `${neg}.bin: token id -5 is outside the vocabulary of ${ckpt} (vocab_size 96)`,
    );
  });

  test("bad flag values are blamed on the flag, file values on the file", () => {
    const file = join(tmp("cfg"), "run.json");
    writeFileSync(file, JSON.stringify({ lr: 1e-3, sharding: "full", max_steps: 4, data: "d", out: "o" }));
    const flags = { lr: "--lr", sharding: "--sharding", max_steps: "--max-steps", betas: "--betas" };
    const load = (o: Record<string, unknown>) =>
      loadConfig(file, o, {
        flags: Object.fromEntries(Object.keys(o).map((k) => [k, flags[k as keyof typeof flags]])),
      });
    expect(() => load({ lr: "abc" })).toThrow(/^--lr: expected a number, got "abc"$/);
    expect(() => load({ sharding: "zero9" })).toThrow(/^--sharding: expected one of full\|grad-op/);
    expect(() => load({ max_steps: 0 })).toThrow(/^--max-steps: must be >= 1, got 0$/);
    expect(() => load({ betas: [0.9, 2] })).toThrow(/^--betas\[1\]: must be a number in \[0, 1\)/);
    writeFileSync(file, JSON.stringify({ lr: "x", data: "d", out: "o" }));
    const e = (() => {
      try {
        load({ max_steps: 0 });
      } catch (err) {
        return err as ConfigError;
      }
    })();
    expect(e?.message).toBe(
      `${file}: 2 problems: lr: expected a number, got "x"; --max-steps: must be >= 1, got 0`,
    );
  });
});
