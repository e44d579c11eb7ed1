import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadHFCheckpoint, setBackend } from "@biomed-llama/llama-model";
import { AdamW, clipGradNorm, decayMask } from "@biomed-llama/optimizer";
import { beforeAll, describe, expect, test } from "vitest";
import { BatchPlan } from "../src/batch-plan";
import { listCheckpoints } from "../src/checkpoint-store";
import { openPretrainSequences } from "../src/data-sources";
import { NonFiniteLossError } from "../src/errors";
import { readMetrics } from "../src/metrics-log";
import { train } from "../src/train";
import { resumeConfig } from "../src/train-state";
import { countingDataset, tinyCheckpoint, tinyConfig, tmp } from "./helpers/tiny-run";

let ckpt: string;
let prefix: string;
const quiet = () => {};

beforeAll(async () => {
  ckpt = await tinyCheckpoint(join(tmp("init"), "hf"));
  prefix = await countingDataset(join(tmp("data"), "counting"));
});

function data(seqLen = 24) {
  return openPretrainSequences(prefix, { packing: "pack", seqLen, eosId: 2, padId: 0 });
}

async function run(overrides: Record<string, unknown>, extra: Partial<Parameters<typeof train>[0]> = {}) {
  const out = overrides.out ?? join(tmp("run"), "run");
  const config = tinyConfig({ init_from: ckpt, out, ...overrides });
  return train({ config, data: data(config.seq_len), log: quiet, ...extra });
}

const trace = (m: Map<number, number>) => [...m.values()];

type Run = Awaited<ReturnType<typeof train>>;

/** Same loss trace (5 decimals) and final parameters (max |diff| < 1e-4 per tensor). */
function expectSameRun(got: Run, want: Run): void {
  trace(got.losses).forEach((v, i) => {
    expect(v).toBeCloseTo(trace(want.losses)[i], 5);
  });
  for (const [name, p] of want.parameters) {
    const q = got.parameters.get(name)!;
    let maxDiff = 0;
    for (let i = 0; i < p.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p[i] - q[i]));
    expect(maxDiff, name).toBeLessThan(1e-4);
  }
}

describe("pretrain on a generated indexed dataset", () => {
  test("loss falls, metrics.jsonl has every step, final checkpoint loads as HF", async () => {
    const r = await run({ max_steps: 24, lr: 2e-2, warmup_steps: 3 });
    const l = trace(r.losses);
    expect(l).toHaveLength(24);
    const first = (l[0] + l[1] + l[2]) / 3;
    const last = (l[21] + l[22] + l[23]) / 3;
    expect(first).toBeGreaterThan(Math.log(96) - 0.5); // ~uniform at init
    expect(last).toBeLessThan(first - 1.5);
    const { steps } = readMetrics(join(r.runDir, "metrics.jsonl"));
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    for (const k of ["loss", "lr", "grad_norm", "tokens_per_s", "mfu", "mem_bytes", "eta_s", "tokens_seen"])
      expect(typeof (steps[5] as unknown as Record<string, unknown>)[k]).toBe("number");
    expect(steps[23].tokens_seen).toBe(24 * 4 * 24);
    // lr follows warmup 3 then cosine to 10 %
    expect(steps[0].lr).toBe(0);
    expect(steps[3].lr).toBeCloseTo(2e-2, 12);
    const ref = r.lastCheckpoint!;
    expect(ref.step).toBe(24);
    for (const f of ["config.json", "model.safetensors", "manifest.json", "COMPLETE"])
      expect(existsSync(join(ref.dir, f))).toBe(true);
    expect(readdirSync(join(ref.dir, "train_state"))).toEqual(["rank-00000-of-00001.safetensors"]);
    const reloaded = await loadHFCheckpoint(ref.dir);
    for (const [name, v] of reloaded.namedParameters()) expect(v.dataSync()).toEqual(r.parameters.get(name));
    reloaded.dispose();
  }, 60_000);

  test("--init-from loads the model package's HF checkpoint: first loss equals that model's loss", async () => {
    const model = await loadHFCheckpoint(ckpt);
    const d = data();
    // step 1 (lr 0 in warmup) takes the sequences of BatchPlan step 0; its loss is the model's own.
    const r = await run({ max_steps: 1, warmup_steps: 1, data_order: "sequential" });
    const seqs = [0, 1, 2, 3].map((i) => d.get(i));
    const direct = await model.loss(
      seqs.map((s) => s.inputIds),
      seqs.map((s) => s.labels),
    );
    expect(r.losses.get(1)).toBeCloseTo(direct.loss, 5);
    model.dispose();
  }, 30_000);

  test("the loss and the update do not depend on the split into micro-batches", async () => {
    const runs = [];
    for (const micro of [4, 2, 1])
      runs.push(await run({ global_batch: 4, micro_batch: micro, max_steps: 3 }));
    const [a, b, c] = runs;
    for (const other of [b, c]) expectSameRun(other, a);
  }, 60_000);

  test("activation checkpointing (recompute each layer in backward) gives the same run", async () => {
    const plain = await run({ global_batch: 4, micro_batch: 2, max_steps: 3 });
    const recomputed = await run({
      global_batch: 4,
      micro_batch: 2,
      max_steps: 3,
      activation_checkpointing: "layer",
    });
    expectSameRun(recomputed, plain);
  }, 60_000);

  test("ZeRO-3 (`full`, unit by unit from shards) gives the `none` run: losses, weights, eval, HF checkpoint, resume", async () => {
    const base = { global_batch: 4, micro_batch: 2, max_steps: 4, eval_interval: 2, save_interval: 2 };
    const evalData = data();
    const ref = await run({ ...base, sharding: "none" }, { evalData });
    const out = join(tmp("zero3"), "run");
    const z3 = await run({ ...base, sharding: "full", out }, { evalData });
    expectSameRun(z3, ref);
    const evals = (dir: string) =>
      readMetrics(join(dir, "metrics.jsonl")).evals.map((e) => e.eval_loss as number);
    const refEvals = evals(ref.runDir);
    expect(refEvals).toHaveLength(2);
    evals(z3.runDir).forEach((v, i) => {
      expect(v).toBeCloseTo(refEvals[i], 5);
    });
    // the HF weights written from gathered shards are the run's final parameters
    const reloaded = await loadHFCheckpoint(z3.lastCheckpoint!.dir);
    for (const [name, v] of reloaded.namedParameters()) expect(v.dataSync()).toEqual(z3.parameters.get(name));
    reloaded.dispose();
    // stopped after step 2 and resumed: the same trace
    const cut = join(tmp("zero3-cut"), "run");
    await run({ ...base, sharding: "full", out: cut }, { evalData, stopAfterStep: 3 });
    const resumed = await run({ ...base, sharding: "full", out: cut }, { evalData, resume: true });
    for (const [step, loss] of resumed.losses) expect(loss).toBe(z3.losses.get(step));
  }, 90_000);

  // ZeRO-3 reuses one gather buffer and reduces into its step sums: on cpu the hooks copy the gathered
  // views into tensors (the cpu backend would keep the array it is given); on native the gradients are
  // read from the backend's own memory before the tensors are disposed. Two micro-batches: the sum path.
  test.each(["cpu", "native"])(
    "ZeRO-3 gives the `none` run on the %s backend",
    async (backend) => {
      const base = { global_batch: 4, micro_batch: 2, max_steps: 3, backend };
      const ref = await run({ ...base, sharding: "none" });
      const z3 = await run({ ...base, sharding: "full" });
      expectSameRun(z3, ref);
    },
    60_000,
  );

  test("two steps equal a naive full-batch loop (mean loss, clip, AdamW with ≥2-D decay) written here", async () => {
    const cfg = { max_steps: 2, warmup_steps: 1, micro_batch: 2, lr: 1e-2, schedule: "constant" };
    const r = await run(cfg);
    await setBackend("wasm");
    const model = await loadHFCheckpoint(ckpt);
    const d = data();
    const plan = new BatchPlan({
      numSequences: d.numSequences,
      globalBatch: 4,
      microBatch: 4,
      dpRanks: 1,
      order: "shuffle",
      seed: 5,
    });
    const opt = new AdamW({ lr: 1e-2, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
    const params = await model.stateDict();
    const lrs = [0, 1e-2]; // constant schedule after 1 warmup step
    for (let step = 0; step < 2; step++) {
      const seqs = plan.stepIndices(step).map((i) => d.get(i));
      const out = await model.lossAndGrads(
        seqs.map((s) => s.inputIds),
        seqs.map((s) => s.labels),
      ); // HF's default mean over the batch's label tokens
      expect(r.losses.get(step + 1)).toBeCloseTo(out.loss, 5);
      const names = [...out.grads.keys()];
      const grads = names.map((n) => out.grads.get(n)!.dataSync() as Float32Array);
      for (const g of out.grads.values()) g.dispose();
      await clipGradNorm(grads, 1.0);
      const shapes = new Map([...model.namedParameters()].map(([n, v]) => [n, v.shape]));
      opt.step(
        names.map((n, i) => ({
          key: n,
          param: params.get(n)!,
          grad: grads[i],
          weightDecay: decayMask(n, shapes.get(n)!, "matrices") ? 0.1 : 0,
        })),
        lrs[step],
      );
      for (const [n, p] of params) model.setParameter(n, p);
    }
    for (const [name, p] of params) {
      const q = r.parameters.get(name)!;
      let maxDiff = 0;
      for (let i = 0; i < p.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p[i] - q[i]));
      expect(maxDiff, name).toBeLessThan(2e-5);
    }
    model.dispose();
  }, 60_000);

  test("eval_interval logs the held-out loss = the saved model's mean loss on those sequences", async () => {
    const d = data();
    const r = await train({
      config: tinyConfig({
        init_from: ckpt,
        out: join(tmp("eval"), "run"),
        max_steps: 2,
        eval_interval: 2,
        eval_sequences: 3,
      }),
      data: d,
      evalData: d,
      log: quiet,
    });
    const { evals } = readMetrics(join(r.runDir, "metrics.jsonl"));
    expect(evals.map((e) => e.step)).toEqual([2]);
    const model = await loadHFCheckpoint(r.lastCheckpoint!.dir);
    const seqs = [0, 1, 2].map((i) => d.get(i));
    const ref = await model.loss(
      seqs.map((s) => s.inputIds),
      seqs.map((s) => s.labels),
    );
    expect(evals[0].eval_loss).toBeCloseTo(ref.loss, 5);
    expect(evals[0].eval_tokens).toBe(ref.tokens);
    model.dispose();
  }, 60_000);

  test("resume from the last complete checkpoint reproduces the uninterrupted loss trace exactly", async () => {
    const full = await run({ max_steps: 6, save_interval: 2, keep_last: 2 });
    const out = join(tmp("resume"), "run");
    const first = await run({ out, max_steps: 6, save_interval: 2, keep_last: 2 }, { stopAfterStep: 5 });
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([2, 4]);
    expect(first.stepsRun).toBe(5);
    await expect(run({ out, max_steps: 6, save_interval: 2, keep_last: 2 })).rejects.toThrow(
      /already holds checkpoints of a run; continue it with --resume/,
    );
    const second = await run({ out, max_steps: 6, save_interval: 2, keep_last: 2 }, { resume: true });
    expect(second.stepsRun).toBe(2); // steps 5 and 6 after the step-4 checkpoint
    expect([...second.losses.keys()]).toEqual([5, 6]);
    for (const [step, loss] of second.losses) expect(loss).toBe(full.losses.get(step));
    for (const [name, p] of full.parameters) expect(second.parameters.get(name)).toEqual(p);
    // the metrics log keeps one record per step, the resumed one winning
    const { steps } = readMetrics(join(out, "metrics.jsonl"));
    expect(steps.map((s) => s.loss)).toEqual(trace(full.losses));
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([4, 6]);
    // a resume takes the saved config; only keys that do not change the computation may change
    expect(resumeConfig(out, { save_interval: 3, backend: "cpu" })).toMatchObject({
      save_interval: 3,
      backend: "cpu",
      lr: 1e-2,
    });
    expect(() => resumeConfig(out, { lr: 1, global_batch: 8, keep_last: 1 })).toThrow(
      /2 problems: lr: the run was started with 0\.01; a resume cannot change it; global_batch: the run was started with 4/,
    );
  }, 60_000);

  test("a crash in the middle of a save leaves the previous checkpoint; resume continues from it", async () => {
    const full = await run({ max_steps: 6, save_interval: 2 });
    const out = join(tmp("midsave"), "run");
    const crash = new Error("simulated crash while saving step 4");
    await expect(
      run(
        { out, max_steps: 6, save_interval: 2 },
        {
          beforeCheckpointCommit: (step) => {
            if (step === 4) throw crash;
          },
        },
      ),
    ).rejects.toBe(crash);
    // the step-4 files were written into a temp dir that never got its marker or its rename
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([2]);
    expect(readdirSync(join(out, "checkpoints"))).toContain(".step-00000004.tmp");
    const resumed = await run({ out, max_steps: 6, save_interval: 2 }, { resume: true });
    expect([...resumed.losses.keys()]).toEqual([3, 4, 5, 6]);
    for (const [step, loss] of resumed.losses) expect(loss).toBe(full.losses.get(step));
    expect(readdirSync(join(out, "checkpoints")).sort()).toEqual(["step-00000004", "step-00000006"]);
  }, 60_000);

  test("a non-finite step is skipped and logged; K in a row stop the run with a clear error", async () => {
    const lines: string[] = [];
    const clean = await run({ max_steps: 3 });
    const r = await run({ max_steps: 3 }, { poisonSteps: [1], log: (l) => lines.push(l) });
    expect(Number.isNaN(r.losses.get(2))).toBe(true);
    expect(lines.some((l) => l.includes("step 2: non-finite loss") && l.includes("update skipped"))).toBe(
      true,
    );
    expect(r.losses.get(1)).toBe(clean.losses.get(1));
    const metrics = readFileSync(join(r.runDir, "metrics.jsonl"), "utf8");
    expect(metrics).toContain('"skipped":true');
    await expect(run({ max_steps: 5, max_nonfinite_steps: 2 }, { poisonSteps: [1, 2] })).rejects.toThrow(
      NonFiniteLossError,
    );
    await expect(run({ max_steps: 5, max_nonfinite_steps: 2 }, { poisonSteps: [1, 2] })).rejects.toThrow(
      /2 steps in a row had a non-finite loss/,
    );
  }, 60_000);
});
