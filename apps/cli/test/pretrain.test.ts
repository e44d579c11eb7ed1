import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "@biomed-llama/fsdp-sharding";
import { readSafetensors } from "@biomed-llama/llama-model";
import { beforeAll, describe, expect, test } from "vitest";
import { losses, tinyInputs, trainFlags } from "./helpers/tiny-run";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const run = promisify(execFile);
let dir: string;
let hf: string;
let data: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cli-pretrain-"));
  ({ hf, data } = await tinyInputs(dir));
});

const runArgs = (out: string, extra: string[] = []) => [
  cli,
  "pretrain",
  ...trainFlags({ hf, data }, out, { microBatch: 2, keepLast: 10 }),
  ...extra,
];

/**
 * Runs the same command as `world` ranks with torchrun's variables, `perNode` ranks per simulated
 * node; resolves when all exit 0.
 */
async function ranks(world: number, args: string[], perNode = world): Promise<void> {
  const port = await freePort();
  await Promise.all(
    Array.from({ length: world }, (_, r) =>
      run(process.execPath, args, {
        env: {
          ...process.env,
          RANK: String(r),
          WORLD_SIZE: String(world),
          LOCAL_RANK: String(r % perNode),
          LOCAL_WORLD_SIZE: String(perNode),
          GROUP_RANK: String(Math.floor(r / perNode)),
          MASTER_ADDR: "127.0.0.1",
          MASTER_PORT: String(port),
          BIOMED_LLAMA_SECRET: `test-${port}`,
          // "Nodes" simulated on one machine: the address every rank listens on and advertises.
          BIOMED_LLAMA_ADDR: "127.0.0.1",
        },
      }),
    ),
  );
}

function weights(runDir: string, step: number) {
  return readSafetensors(
    join(runDir, "checkpoints", `step-${String(step).padStart(8, "0")}`, "model.safetensors"),
  );
}

function maxAbsDiff(a: ReturnType<typeof weights>, b: ReturnType<typeof weights>): number {
  let m = 0;
  for (const [name, t] of a) {
    const u = b.get(name)!.data;
    for (let i = 0; i < t.data.length; i++) m = Math.max(m, Math.abs(t.data[i] - u[i]));
  }
  return m;
}

describe("biomed-llama pretrain", () => {
  test("a bad config reports every problem in one line before any work", async () => {
    const out = join(dir, "never");
    const err = await run(process.execPath, [
      cli,
      "pretrain",
      "--out",
      out,
      "--lr",
      "-1",
      "--betas",
      "0.9,x",
      "--schedule",
      "step",
    ]).then(
      () => null,
      (e) => e,
    );
    expect(err?.code).toBe(1);
    const lines = err.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^biomed-llama: config: 4 problems: /);
    for (const frag of ["--lr: must be > 0", "--betas[1]", "--schedule: expected one of", "; data: required"])
      expect(lines[0]).toContain(frag);
    expect(existsSync(out)).toBe(false);
  });

  test("bad flag values are blamed on the flag, not on --config; seq-len beyond the model is refused", async () => {
    const cfg = join(dir, "good.json");
    writeFileSync(cfg, JSON.stringify({ init_from: hf, data, max_steps: 2, seq_len: 24, global_batch: 4 }));
    const out = join(dir, "never-flags");
    const fails = async (extra: string[]) => {
      const e = await run(process.execPath, [cli, "pretrain", "--config", cfg, "--out", out, ...extra]).then(
        () => null,
        (err) => err,
      );
      expect(e?.code).toBe(1);
      const lines = e.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      return lines[0];
    };
    expect(await fails(["--lr", "abc", "--sharding", "zero9"])).toMatch(
      /^biomed-llama: 2 problems: --lr: expected a number, got "abc"; --sharding: expected one of full\|/,
    );
    expect(await fails(["--max-steps", "0"])).toBe("biomed-llama: --max-steps: must be >= 1, got 0");
    expect(await fails(["--betas", "0.9,1.5"])).toBe(
      "biomed-llama: --betas[1]: must be a number in [0, 1), got 1.5",
    );
    expect(await fails(["--seq-len", "1024"])).toBe(
      `biomed-llama: --seq-len: 1024 exceeds the model's max_position_embeddings 64 (${hf})`,
    );
    expect(existsSync(out)).toBe(false);
  });

  let reference: Map<number, number>;
  let refDir: string;

  test("kill -9 mid-training, then --resume: the loss trace equals the uninterrupted run's", async () => {
    refDir = join(dir, "ref");
    await run(process.execPath, runArgs(refDir));
    reference = losses(refDir);
    expect(reference.size).toBe(8);
    expect(reference.get(8)!).toBeLessThan(reference.get(1)!);

    const out = join(dir, "killed");
    const child: ChildProcess = spawn(process.execPath, runArgs(out), { stdio: "ignore" });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_c, sig) => resolve(sig)),
    );
    // wait until step 5 is logged (a checkpoint at step 4 exists), then kill -9 during step 6
    for (let i = 0; i < 600; i++) {
      const m = join(out, "metrics.jsonl");
      if (existsSync(m) && readFileSync(m, "utf8").split("\n").filter(Boolean).length >= 5) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const before = losses(out);
    expect(before.size).toBeLessThan(8);
    const complete = readdirSync(join(out, "checkpoints")).filter((d) =>
      existsSync(join(out, "checkpoints", d, "COMPLETE")),
    );
    expect(complete.length).toBeGreaterThanOrEqual(2);

    const { stderr } = await run(process.execPath, [cli, "pretrain", "--resume", out, "--backend", "wasm"]);
    expect(stderr).toMatch(/resumed from .*step-0000000[46] at step [46]/);
    expect([...losses(out)]).toEqual([...reference]);
    expect(maxAbsDiff(weights(out, 8), weights(refDir, 8))).toBe(0);
  });

  test("2 ranks (full sharding) give the 1-rank loss trace and weights; resume on 2 ranks from a 1-rank checkpoint", async () => {
    const two = join(dir, "two");
    await ranks(2, runArgs(two, ["--sharding", "full"]));
    const l2 = losses(two);
    expect(l2.size).toBe(8);
    for (const [step, loss] of reference) expect(l2.get(step)).toBeCloseTo(loss, 4);
    expect(maxAbsDiff(weights(two, 8), weights(refDir, 8))).toBeLessThan(1e-4);
    expect(readdirSync(join(two, "checkpoints", "step-00000008", "train_state"))).toEqual([
      "rank-00000-of-00002.safetensors",
      "rank-00001-of-00002.safetensors",
    ]);

    // different world size: the 1-rank run's step-4 checkpoint continued on 2 ranks
    const moved = join(dir, "moved");
    cpSync(refDir, moved, { recursive: true });
    for (const s of [6, 8]) rmSync(join(moved, "checkpoints", `step-0000000${s}`), { recursive: true });
    await ranks(2, [cli, "pretrain", "--resume", moved, "--backend", "wasm"]);
    const lm = losses(moved);
    for (const [step, loss] of reference) expect(lm.get(step)).toBeCloseTo(loss, 4);
    expect(maxAbsDiff(weights(moved, 8), weights(refDir, 8))).toBeLessThan(1e-4);
  });

  // hybrid-grad-op is the seed's run (ZeRO-2 inside a node); hybrid shards parameters too (ZeRO-3 inside
  // a node: the model runs unit by unit from gathered shards).
  test.each(["hybrid-grad-op", "hybrid"])(
    "%s sharding on 4 ranks over 2 nodes gives the 1-rank loss trace",
    async (strategy) => {
      const four = join(dir, `four-${strategy}`);
      await ranks(4, runArgs(four, ["--sharding", strategy, "--micro-batch", "1"]), 2);
      const l4 = losses(four);
      expect(l4.size).toBe(8);
      for (const [step, loss] of l4) expect(loss).toBeCloseTo(reference.get(step)!, 4);
      const manifest = JSON.parse(
        readFileSync(join(four, "checkpoints", "step-00000008", "manifest.json"), "utf8"),
      );
      expect(manifest).toMatchObject({ worldSize: 4, shardSize: 2, strategy });
      expect(maxAbsDiff(weights(four, 8), weights(refDir, 8))).toBeLessThan(1e-4);
    },
  );
});
