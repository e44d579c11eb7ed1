// Compares against values dumped by PyTorch (fixtures/make_golden.py), an independent implementation.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { AdamW, type ParamShard } from "../src/adamw";
import { clipGradNorm } from "../src/clip-grad-norm";
import { decayMask } from "../src/decay-mask";
import { ConstantLr, CosineWithWarmup, LinearWithWarmup, type LrSchedule } from "../src/schedules";

interface GoldenStep {
  lr: number;
  norm: number;
  grads: Record<string, number[]>;
  params: Record<string, number[]>;
  expAvg: Record<string, number[]>;
  expAvgSq: Record<string, number[]>;
}
interface Golden {
  adamw: {
    betas: [number, number];
    eps: number;
    weightDecay: number;
    maxNorm: number;
    shapes: Record<string, number[]>;
    initial: Record<string, number[]>;
    steps: GoldenStep[];
  };
  clip: { maxNorm: number; before: number[][]; after: number[][]; norm: number }[];
  schedules: {
    kind: string;
    peakLr: number;
    warmupSteps: number;
    totalSteps: number;
    minLrRatio: number;
    lr: number[];
  }[];
}

const golden = JSON.parse(readFileSync(new URL("./fixtures/golden.json", import.meta.url), "utf8")) as Golden;

/** Max distance in float32 ulps (of the expected value) between two arrays. */
function maxUlps(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    const a = actual[i] as number;
    if (a === e) continue;
    const ulp = Math.max(2 ** (Math.floor(Math.log2(Math.abs(e) || 2 ** -149)) - 23), 2 ** -149);
    worst = Math.max(worst, Math.abs(a - e) / ulp);
  }
  return worst;
}

describe("AdamW + clipGradNorm vs torch.optim.AdamW + clip_grad_norm_", () => {
  const g = golden.adamw;
  const names = Object.keys(g.shapes);
  const opt = new AdamW({ lr: 1, betas: g.betas, eps: g.eps, weightDecay: g.weightDecay });
  const params = new Map(names.map((n) => [n, Float32Array.from(g.initial[n] as number[])]));

  g.steps.forEach((step, k) => {
    test(`step ${k} (lr ${step.lr.toPrecision(4)}) is bit-identical to torch`, async () => {
      const grads = names.map((n) => Float32Array.from(step.grads[n] as number[]));
      const norm = await clipGradNorm(grads, g.maxNorm);
      // torch accumulates the norm in float32; ours is float64.
      expect(norm).toBeCloseTo(step.norm, 4);
      const shards: ParamShard[] = names.map((n, i) => ({
        key: n,
        param: params.get(n) as Float32Array,
        grad: grads[i] as Float32Array,
        weightDecay: decayMask(n, g.shapes[n] as number[], "matrices") ? undefined : 0,
      }));
      opt.step(shards, step.lr);
      for (const n of names) {
        const s = opt.getState(n);
        expect(s?.step).toBe(k + 1);
        expect(maxUlps(s?.expAvg as Float32Array, step.expAvg[n] as number[])).toBe(0);
        expect(maxUlps(s?.expAvgSq as Float32Array, step.expAvgSq[n] as number[])).toBe(0);
        expect(maxUlps(params.get(n) as Float32Array, step.params[n] as number[])).toBe(0);
      }
    });
  });
});

describe("clipGradNorm vs clip_grad_norm_", () => {
  golden.clip.forEach((c, i) => {
    test(`case ${i}: max_norm ${c.maxNorm}, norm ${c.norm.toPrecision(4)}`, async () => {
      const grads = c.before.map((b) => Float32Array.from(b));
      const norm = await clipGradNorm(grads, c.maxNorm);
      expect(norm).toBeCloseTo(c.norm, 5);
      grads.forEach((gr, j) => {
        expect(maxUlps(gr, c.after[j] as number[])).toBe(0);
      });
    });
  });
});

describe("schedules vs HF lambdas under torch LambdaLR", () => {
  for (const s of golden.schedules) {
    test(`${s.kind} warmup ${s.warmupSteps} total ${s.totalSteps} min ${s.minLrRatio}`, () => {
      let sched: LrSchedule;
      if (s.kind === "cosine-with-warmup") sched = new CosineWithWarmup(s);
      else if (s.kind === "linear-with-warmup") sched = new LinearWithWarmup(s);
      else sched = new ConstantLr({ peakLr: s.peakLr, warmupSteps: s.warmupSteps });
      s.lr.forEach((expected, step) => {
        const got = sched.lr(step);
        expect(Math.abs(got - expected)).toBeLessThanOrEqual(1e-15 * s.peakLr + 1e-20);
      });
    });
  }
});
