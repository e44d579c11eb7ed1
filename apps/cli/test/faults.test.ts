// Fault injection against the real CLI: kill -9 at random moments of a 1-rank and a 2-rank pretrain,
// then --resume (or, killed before any checkpoint, the same command again with --overwrite): the loss
// trace and the final weights equal the uninterrupted run's, bit for bit, and every step is logged once.
// Two writers on one run: one is refused in one line. A disk that fills up mid-save: one line naming
// the file, the earlier checkpoints intact, and the run resumes elsewhere to the same trace.
// The kill moments come from BIOMED_LLAMA_FAULT_SEED (printed in the test names) so a failure replays.
import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { initHFCheckpoint, readSafetensors, resolveConfig } from "@biomed-llama/llama-model";
import { IndexedDatasetWriter } from "@biomed-llama/tokenizer";
import { latestCheckpoint, listCheckpoints, Rng } from "@biomed-llama/trainer";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const run = promisify(execFile);
const SEED = Number(process.env.BIOMED_LLAMA_FAULT_SEED ?? 20261206);
const KILLS_1 = 4;
const KILLS_2 = 2;
let dir: string;
let hf: string;
let data: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cli-faults-"));
  hf = join(dir, "hf");
  await initHFCheckpoint(
    resolveConfig({
      vocab_size: 96,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 64,
    }),
    hf,
    { seed: 3 },
  );
  data = join(dir, "counting");
  const w = new IndexedDatasetWriter(data, { dtype: "uint16" });
  for (let d = 0; d < 48; d++)
    w.addDocument(Array.from({ length: 10 + ((d * 7) % 23) }, (_, i) => ((((d * 13) % 90) + i) % 90) + 3));
  await w.finalize();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const trainArgs = (out: string, steps = 8) => [
  "pretrain",
  "--init-from",
  hf,
  "--data",
  data,
  "--out",
  out,
  "--seq-len",
  "24",
  "--global-batch",
  "4",
  "--micro-batch",
  "1",
  "--lr",
  "1e-2",
  "--warmup-steps",
  "1",
  "--max-steps",
  String(steps),
  "--save-interval",
  "2",
  "--keep-last",
  "2",
  "--backend",
  "wasm",
];
const on = (ranks: number, args: string[]) =>
  ranks === 1 ? [cli, ...args] : [cli, "launch", "--nproc-per-node", String(ranks), "--", ...args];

/** Step → loss of metrics.jsonl; fails if a step is logged twice or a line is not JSON. */
function losses(runDir: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of readFileSync(join(runDir, "metrics.jsonl"), "utf8").split("\n")) {
    if (!line) continue;
    const r = JSON.parse(line);
    if (!("loss" in r)) continue;
    expect(out.has(r.step), `step ${r.step} logged twice`).toBe(false);
    out.set(r.step, r.loss);
  }
  return out;
}

const finalWeights = (runDir: string, steps = 8) =>
  readSafetensors(join(runDir, "checkpoints", `step-${String(steps).padStart(8, "0")}`, "model.safetensors"));

function expectSameWeights(a: ReturnType<typeof finalWeights>, b: ReturnType<typeof finalWeights>): void {
  for (const [name, t] of a)
    expect(Buffer.from(t.data.buffer).equals(Buffer.from(b.get(name)!.data.buffer)), name).toBe(true);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The processes of a job: the CLI itself, or under launch its rank processes. */
function rankPids(child: ChildProcess, ranks: number): number[] {
  if (ranks === 1) return [child.pid!];
  const r = spawnSync("pgrep", ["-P", String(child.pid)], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean).map(Number);
}

/**
 * Starts the job, kill -9s one of its processes after `delayMs` (a rank, under launch), waits for the
 * job to end, then brings the run to its end the way a user would: --resume when a checkpoint exists,
 * else the same command again (with --overwrite if the killed run left files).
 */
async function killAndFinish(out: string, ranks: number, delayMs: number, victim: number): Promise<string> {
  const child = spawn(process.execPath, on(ranks, trainArgs(out)), { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  await Promise.race([sleep(delayMs), exited]);
  const pids = rankPids(child, ranks);
  let killed = "finished before the kill";
  if (pids.length > 0 && child.exitCode === null) {
    try {
      process.kill(pids[victim % pids.length], "SIGKILL");
      killed = `killed pid ${pids[victim % pids.length]}`;
    } catch {}
  }
  await exited;
  let args: string[];
  if (listCheckpoints(out).length > 0) args = ["pretrain", "--resume", out, "--backend", "wasm"];
  else if (existsSync(out) && readdirSync(out).length > 0) args = [...trainArgs(out), "--overwrite"];
  else args = trainArgs(out);
  await run(process.execPath, on(ranks, args), { timeout: 240_000 });
  return killed;
}

describe.each([
  [1, KILLS_1],
  [2, KILLS_2],
])(`kill -9 at random moments (seed ${SEED}), %i rank(s)`, (ranks, kills) => {
  let reference: Map<number, number>;
  let refDir: string;
  let runMs: number;
  const rng = new Rng(SEED + ranks);

  beforeAll(async () => {
    refDir = join(dir, `ref-${ranks}`);
    const t = Date.now();
    await run(process.execPath, on(ranks, trainArgs(refDir)), { timeout: 240_000 });
    runMs = Date.now() - t;
    reference = losses(refDir);
    expect(reference.size).toBe(8);
  }, 240_000);

  test.each(Array.from({ length: kills }, (_, i) => i))(
    "moment %i: resumed trace and weights equal the uninterrupted run's",
    async (i) => {
      // anywhere from process start-up (before the lock) to the last save
      const delay = Math.round(runMs * (0.05 + 0.9 * (rng.nextUint32() / 2 ** 32)));
      const victim = rng.nextUint32();
      const out = join(dir, `killed-${ranks}-${i}`);
      const what = await killAndFinish(out, ranks, delay, victim);
      expect(what, `after ${delay} ms of ${runMs}`).toMatch(/^killed pid/);
      expect([...losses(out)], `${what} after ${delay} ms of ${runMs}`).toEqual([...reference]);
      expectSameWeights(finalWeights(out), finalWeights(refDir));
      expect(existsSync(join(out, "run.lock"))).toBe(false);
      expect(latestCheckpoint(out).step).toBe(8);
    },
    480_000,
  );
});

describe("two writers on one run directory", () => {
  test("two `pretrain --resume R` at once: one refused in one line naming the other, the other finishes", async () => {
    const out = join(dir, "two-writers");
    // a run killed after its first checkpoint
    const first = spawn(process.execPath, [cli, ...trainArgs(out)], { stdio: "ignore" });
    const gone = new Promise((r) => first.on("exit", r));
    while (listCheckpoints(out).length === 0 && first.exitCode === null) await sleep(50);
    first.kill("SIGKILL");
    await gone;
    const both = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<{ code: number | null; stderr: string }>((resolve) => {
            const p = spawn(process.execPath, [cli, "pretrain", "--resume", out, "--backend", "wasm"]);
            let stderr = "";
            p.stderr.on("data", (b) => {
              stderr += b;
            });
            p.on("exit", (code) => resolve({ code, stderr }));
          }),
      ),
    );
    const refused = both.filter((r) => r.code !== 0);
    expect(refused).toHaveLength(1);
    const lines = refused[0].stderr.trim().split("\n");
    expect(lines[lines.length - 1]).toMatch(
      new RegExp(
        `^biomed-llama: ${out}: in use by pid \\d+ on .*, pretrain, since .*; wait for it to finish or pick another directory$`,
      ),
    );
    expect(both.filter((r) => r.code === 0)).toHaveLength(1);
    expect([...losses(out).keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  }, 240_000);
});

const isRoot = process.getuid?.() === 0;

describe("a disk that fills up in the middle of a save", () => {
  // A tmpfs of fixed size needs root (CI runs as root); elsewhere this case is covered by the
  // file-size-limit tests of the writers.
  test.skipIf(!isRoot)(
    "ENOSPC: one line naming the file, earlier checkpoints intact, resumed elsewhere to the same trace",
    async () => {
      const ref = join(dir, "ref-1");
      const reference = losses(ref);
      const mnt = join(dir, "small-disk");
      mkdirSync(mnt);
      // room for the run's small files and two and a half checkpoints (tmpfs counts whole pages)
      const pages = (bytes: number) => Math.ceil(bytes / 4096) * 4096;
      const step8 = join(ref, "checkpoints", "step-00000008");
      let ckptBytes = 0;
      for (const f of readdirSync(step8, { recursive: true, withFileTypes: true }))
        if (f.isFile()) ckptBytes += pages(statSync(join(f.parentPath, f.name)).size);
      const size = Math.ceil((2.5 * ckptBytes + 64 * 1024) / 1024);
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}k`, "tmpfs", mnt]);
      try {
        const out = join(mnt, "run");
        const args = [...trainArgs(out), "--keep-last", "10"];
        const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 240_000 });
        expect(r.status).toBe(1);
        const last = r.stderr.trim().split("\n").pop()!;
        expect(last).toMatch(new RegExp(`^biomed-llama: ${out}/\\S+: no space left on device \\(ENOSPC\\)$`));
        const kept = listCheckpoints(out).map((c) => c.step);
        expect(kept.length).toBeGreaterThan(0);
        // every committed checkpoint verifies; resume on a disk with room reproduces the run
        const moved = join(dir, "moved-from-full-disk");
        cpSync(out, moved, { recursive: true });
        rmSync(join(moved, "run.lock"), { force: true });
        expect(latestCheckpoint(moved, (m) => expect.fail(m)).step).toBe(kept[kept.length - 1]);
        await run(process.execPath, [cli, "pretrain", "--resume", moved, "--backend", "wasm"], {
          timeout: 240_000,
        });
        expect([...losses(moved)]).toEqual([...reference]);
      } finally {
        execFileSync("umount", [mnt]);
      }
    },
    300_000,
  );
});
