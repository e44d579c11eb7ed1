// Slurm for real: a one-node cluster of the test's own (test/cluster/slurm.ts) runs `srun -n 2` and the
// sbatch template users copy (examples/slurm/pretrain.sbatch) of `biomed-llama pretrain`; the ranks take
// their place from SLURM_* alone and give the 1-rank run's trace. A job without BIOMED_LLAMA_SECRET stops
// at once, every task naming the variable. CI must run these (it is root and setup installs Slurm); a
// machine without Slurm or root skips them, saying why.
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { readSafetensors } from "@biomed-llama/llama-model";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type SlurmCluster, slurmUnavailable, startSlurm } from "./cluster/slurm";
import { losses, type TinyInputs, tinyInputs, trainFlags } from "./helpers/tiny-run";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const template = fileURLToPath(new URL("../../../examples/slurm/pretrain.sbatch", import.meta.url));
const run = promisify(execFile);
const why = slurmUnavailable();
if (why && process.env.CI) throw new Error(`CI must run the Slurm tests, but: ${why}`);
if (why) console.warn(`skipping the Slurm tests: ${why}`);

let dir: string;
let inputs: TinyInputs;
let cluster: SlurmCluster;
let reference: Map<number, number>;

const trainArgs = (out: string) => trainFlags(inputs, out, { maxSteps: 4 });

function expectReferenceTrace(runDir: string): void {
  const got = losses(runDir);
  expect([...got.keys()]).toEqual([...reference.keys()]);
  for (const [step, loss] of reference) expect(got.get(step)).toBeCloseTo(loss, 4);
  const manifest = JSON.parse(
    readFileSync(join(runDir, "checkpoints", "step-00000004", "manifest.json"), "utf8"),
  );
  expect(manifest.worldSize).toBe(2);
}

/** The environment of a user's shell: no launcher variables of the test runner's own. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...cluster.env, ...extra };
  for (const k of ["RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "BIOMED_LLAMA_SECRET"])
    if (!(k in extra)) delete env[k];
  return env;
}

describe.skipIf(why !== null)("a one-node Slurm cluster", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cli-slurm-"));
    inputs = await tinyInputs(dir);
    const ref = join(dir, "ref");
    await run(process.execPath, [cli, "pretrain", ...trainArgs(ref)]);
    reference = losses(ref);
    cluster = await startSlurm();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("srun -n 2: ranks from SLURM_* give the 1-rank trace (full sharding)", async () => {
    const out = join(dir, "srun");
    const r = spawnSync(
      "srun",
      [
        "-n",
        "2",
        "--kill-on-bad-exit=1",
        process.execPath,
        cli,
        "pretrain",
        ...trainArgs(out),
        "--sharding",
        "full",
      ],
      { env: userEnv({ BIOMED_LLAMA_SECRET: "slurm-test" }), encoding: "utf8", timeout: 240_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expectReferenceTrace(out);
    // both ranks' shards in the checkpoint: the world really had two ranks
    expect(
      readSafetensors(
        join(out, "checkpoints", "step-00000004", "train_state", "rank-00001-of-00002.safetensors"),
      ).size,
    ).toBeGreaterThan(0);
  }, 240_000);

  test("srun --mpi=pmix with --transport mpi: Open MPI wires the ranks up through Slurm's PMIx", async () => {
    const out = join(dir, "srun-mpi");
    const r = spawnSync(
      "srun",
      [
        "--mpi=pmix",
        "-n",
        "2",
        "--kill-on-bad-exit=1",
        process.execPath,
        cli,
        "pretrain",
        ...trainArgs(out),
        "--sharding",
        "full",
        "--transport",
        "mpi",
      ],
      { env: userEnv(), encoding: "utf8", timeout: 240_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expectReferenceTrace(out);
  }, 240_000);

  test("the sbatch template (examples/slurm/pretrain.sbatch) runs the job to the same trace", async () => {
    const out = join(dir, "sbatch");
    const r = spawnSync(
      "sbatch",
      [
        "--wait",
        `--output=${join(dir, "sbatch-%j.out")}`,
        template,
        ...trainArgs(out),
        "--sharding",
        "hybrid-grad-op",
      ],
      {
        env: userEnv({ BIOMED_LLAMA: `${process.execPath} ${cli}` }),
        encoding: "utf8",
        timeout: 240_000,
        cwd: dir,
      },
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^Submitted batch job \d+/);
    expectReferenceTrace(out);
  }, 240_000);

  test("without BIOMED_LLAMA_SECRET every task stops at once naming the variable and sbatch's template", () => {
    const t = Date.now();
    const r = spawnSync(
      "srun",
      ["-n", "2", process.execPath, cli, "pretrain", ...trainArgs(join(dir, "nosecret"))],
      { env: userEnv(), encoding: "utf8", timeout: 120_000 },
    );
    expect(r.status).not.toBe(0);
    expect(Date.now() - t).toBeLessThan(30_000);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("biomed-llama:"));
    expect(lines).toHaveLength(2);
    for (const l of lines)
      expect(l).toMatch(
        /^biomed-llama: BIOMED_LLAMA_SECRET is not set: export it before srun \/ sbatch .*examples\/slurm\/pretrain\.sbatch$/,
      );
  }, 120_000);
});
