import { describe, expect, test } from "vitest";
import { AdamW, type AdamWStateDict, type ParamShard } from "../src/adamw";
import { OptimizerInputError, OptimizerStateError } from "../src/errors";

/** Deterministic pseudo-random floats in [-1, 1) (xorshift32), so tests need no fixtures. */
function randomArray(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 31 - 1) * scale;
  }
  return out;
}

/** Textbook AdamW in float64 (Loshchilov & Hutter, as documented for torch.optim.AdamW). */
function naiveAdamW(
  p0: number[],
  grads: number[][],
  lrs: number[],
  o: { b1: number; b2: number; eps: number; wd: number },
): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, k) => {
    const t = k + 1;
    const lr = lrs[k] as number;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] as number;
      p[i] = (p[i] as number) * (1 - lr * o.wd);
      m[i] = o.b1 * (m[i] as number) + (1 - o.b1) * gi;
      v[i] = o.b2 * (v[i] as number) + (1 - o.b2) * gi * gi;
      const mHat = (m[i] as number) / (1 - o.b1 ** t);
      const vHat = (v[i] as number) / (1 - o.b2 ** t);
      p[i] = (p[i] as number) - (lr * mHat) / (Math.sqrt(vHat) + o.eps);
    }
  });
  return p;
}

describe("AdamW closed forms", () => {
  test("first step moves each weight by lr·sign(g) after decoupled decay", () => {
    const lr = 1e-2;
    const wd = 0.1;
    const param = randomArray(100, 7);
    const before = Float32Array.from(param);
    const grad = randomArray(100, 11, 5);
    new AdamW({ betas: [0.9, 0.95], eps: 1e-8, weightDecay: wd }).step([{ key: "w", param, grad }], lr);
    for (let i = 0; i < param.length; i++) {
      const expected = (before[i] as number) * (1 - lr * wd) - lr * Math.sign(grad[i] as number);
      expect(param[i]).toBeCloseTo(expected, 6);
    }
  });

  test("two hand-derived steps on a scalar", () => {
    // p0 = 1, g = 0.5 then -0.25, lr 0.1, betas (0.9, 0.95), wd 0.1, eps 0:
    // step 1: p = 0.99; m = 0.05, v = 0.0125; m̂ = 0.5, v̂ = 0.25 → p = 0.99 - 0.1·1 = 0.89
    // step 2: p = 0.89·0.99 = 0.8811; m = 0.045 - 0.025 = 0.02; v = 0.011875 + 0.003125 = 0.015
    //   m̂ = 0.02/0.19, v̂ = 0.015/0.0975 → p = 0.8811 - 0.1·(0.02/0.19)/sqrt(0.015/0.0975)
    const param = new Float32Array([1]);
    const opt = new AdamW({ betas: [0.9, 0.95], eps: 0, weightDecay: 0.1 });
    opt.step([{ key: "p", param, grad: new Float32Array([0.5]) }], 0.1);
    expect(param[0]).toBeCloseTo(0.89, 6);
    opt.step([{ key: "p", param, grad: new Float32Array([-0.25]) }], 0.1);
    expect(param[0]).toBeCloseTo(0.8811 - (0.1 * (0.02 / 0.19)) / Math.sqrt(0.015 / 0.0975), 6);
    const s = opt.getState("p");
    expect(s?.step).toBe(2);
    expect(s?.expAvg[0]).toBeCloseTo(0.02, 7);
    expect(s?.expAvgSq[0]).toBeCloseTo(0.015, 7);
  });

  test("20 steps agree with a float64 textbook implementation", () => {
    const n = 50;
    const p0 = randomArray(n, 3);
    const grads = Array.from({ length: 20 }, (_, k) => randomArray(n, 100 + k, k % 3 === 0 ? 10 : 0.1));
    const lrs = grads.map((_, k) => 1e-3 * (k + 1));
    const param = Float32Array.from(p0);
    const opt = new AdamW({ betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
    grads.forEach((grad, k) => {
      opt.step([{ key: "w", param, grad }], lrs[k]);
    });
    const ref = naiveAdamW(
      Array.from(p0),
      grads.map((g) => Array.from(g)),
      lrs,
      { b1: 0.9, b2: 0.95, eps: 1e-8, wd: 0.1 },
    );
    for (let i = 0; i < n; i++)
      expect(Math.abs((param[i] as number) - (ref[i] as number))).toBeLessThan(1e-5);
  });

  test("zero gradient: only decay and momentum move the weight", () => {
    const param = new Float32Array([2, -2]);
    const opt = new AdamW({ betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
    opt.step([{ key: "w", param, grad: new Float32Array([0, 0]) }], 0.5);
    expect(Array.from(param)).toEqual([
      Math.fround(2 * Math.fround(0.95)),
      Math.fround(-2 * Math.fround(0.95)),
    ]);
  });
});

describe("weight decay selection", () => {
  test("decayMask 0 elements equal a separate shard with weightDecay 0, bit for bit", () => {
    const n = 37;
    const p = randomArray(n, 5);
    const mask = new Uint8Array(n).map((_, i) => (i % 3 === 0 ? 0 : 1));
    const masked = Float32Array.from(p);
    const decayed = Float32Array.from(p);
    const plain = Float32Array.from(p);
    const a = new AdamW({ betas: [0.9, 0.95], weightDecay: 0.1 });
    const b = new AdamW({ betas: [0.9, 0.95], weightDecay: 0.1 });
    for (let k = 0; k < 3; k++) {
      const grad = randomArray(n, 50 + k);
      a.step([{ key: "flat", param: masked, grad, decayMask: mask }], 0.01);
      b.step(
        [
          { key: "d", param: decayed, grad },
          { key: "n", param: plain, grad, weightDecay: 0 },
        ],
        0.01,
      );
    }
    for (let i = 0; i < n; i++) expect(masked[i]).toBe(mask[i] ? decayed[i] : plain[i]);
    expect(masked.some((x, i) => x !== decayed[i])).toBe(true);
  });

  // n spans the native kernel's threshold too, so both kernels run segment by segment
  test.each([37, 70_001])("decayRanges equal the decayMask they spell, bit for bit (n = %i)", (n) => {
    const ranges: [number, number][] = [
      [2, 9],
      [9, 10],
      [n >> 1, n - 3],
    ];
    const mask = new Uint8Array(n);
    for (const [a, b] of ranges) mask.fill(1, a, b);
    const p = randomArray(n, 7);
    const byMask = Float32Array.from(p);
    const byRanges = Float32Array.from(p);
    const a = new AdamW({ betas: [0.9, 0.95], weightDecay: 0.1 });
    const b = new AdamW({ betas: [0.9, 0.95], weightDecay: 0.1 });
    for (let k = 0; k < 3; k++) {
      const grad = randomArray(n, 60 + k);
      a.step([{ key: "flat", param: byMask, grad, decayMask: mask }], 0.01);
      b.step([{ key: "flat", param: byRanges, grad, decayRanges: ranges }], 0.01);
    }
    expect(byRanges).toEqual(byMask);
    expect(b.getState("flat")!.expAvgSq).toEqual(a.getState("flat")!.expAvgSq);
    expect(byRanges.some((x, i) => x !== p[i])).toBe(true);
  });

  test("decayRanges out of order, outside the shard, or beside a decayMask are refused", () => {
    const o = new AdamW();
    const step = (extra: object) =>
      o.step([{ key: "k", param: new Float32Array(8), grad: new Float32Array(8), ...extra }]);
    expect(() =>
      step({
        decayRanges: [
          [4, 6],
          [1, 2],
        ],
      }),
    ).toThrow(/decayRanges \[1, 2\) is not ascending/);
    expect(() => step({ decayRanges: [[6, 9]] })).toThrow(/inside 0\.\.8/);
    expect(() => step({ decayRanges: [[0, 1]], decayMask: new Uint8Array(8) })).toThrow(
      /both decayMask and decayRanges/,
    );
  });
});

describe("state", () => {
  const opts = { betas: [0.9, 0.95] as [number, number], eps: 1e-8, weightDecay: 0.1 };
  const grads = Array.from({ length: 6 }, (_, k) => [randomArray(9, 10 + k), randomArray(4, 20 + k)]);
  const run = (opt: AdamW, params: Float32Array[], from: number, to: number) => {
    for (let k = from; k < to; k++) {
      const g = grads[k] as Float32Array[];
      opt.step(
        [
          { key: "unit0/rank0", param: params[0] as Float32Array, grad: g[0] as Float32Array },
          { key: "unit1/rank0", param: params[1] as Float32Array, grad: g[1] as Float32Array },
        ],
        1e-2 * (k + 1),
      );
    }
  };

  test("stateDict → JSON → loadStateDict continues identically", () => {
    const p0 = [randomArray(9, 1), randomArray(4, 2)];
    const straight = p0.map((p) => Float32Array.from(p));
    run(new AdamW(opts), straight, 0, 6);

    const resumed = p0.map((p) => Float32Array.from(p));
    const first = new AdamW(opts);
    run(first, resumed, 0, 3);
    const json = JSON.stringify(first.stateDict(), (_k, v) =>
      v instanceof Float32Array ? Array.from(v) : v,
    );
    const second = new AdamW(opts);
    second.loadStateDict(JSON.parse(json) as AdamWStateDict);
    expect(second.keys()).toEqual(["unit0/rank0", "unit1/rank0"]);
    expect(second.getState("unit0/rank0")?.step).toBe(3);
    run(second, resumed, 3, 6);
    expect(resumed).toEqual(straight);
  });

  test("stateDict is a copy", () => {
    const opt = new AdamW(opts);
    const param = new Float32Array([1, 2]);
    opt.step([{ key: "w", param, grad: new Float32Array([1, 1]) }]);
    const sd = opt.stateDict();
    (sd.state.w as { expAvg: Float32Array }).expAvg[0] = 123;
    expect(opt.getState("w")?.expAvg[0]).not.toBe(123);
  });

  test("moments are addressable per key: splitting a shard into two keys changes nothing", () => {
    const whole = randomArray(10, 4);
    const halves = [whole.slice(0, 6), whole.slice(6)];
    const a = new AdamW(opts);
    const b = new AdamW(opts);
    for (let k = 0; k < 4; k++) {
      const grad = randomArray(10, 30 + k);
      a.step([{ key: "u", param: whole, grad }], 0.01);
      b.step(
        [
          { key: "u/rank0", param: halves[0] as Float32Array, grad: grad.subarray(0, 6) },
          { key: "u/rank1", param: halves[1] as Float32Array, grad: grad.subarray(6) },
        ],
        0.01,
      );
    }
    expect(Array.from(whole)).toEqual([...(halves[0] as Float32Array), ...(halves[1] as Float32Array)]);
    // Re-shard the moments back to one key and keep going: still identical.
    const s0 = b.getState("u/rank0");
    const s1 = b.getState("u/rank1");
    const c = new AdamW(opts);
    c.setState("u", {
      step: 4,
      expAvg: Float32Array.from([...(s0?.expAvg ?? []), ...(s1?.expAvg ?? [])]),
      expAvgSq: Float32Array.from([...(s0?.expAvgSq ?? []), ...(s1?.expAvgSq ?? [])]),
    });
    const joined = Float32Array.from(whole);
    const grad = randomArray(10, 99);
    a.step([{ key: "u", param: whole, grad }], 0.01);
    c.step([{ key: "u", param: joined, grad }], 0.01);
    expect(joined).toEqual(whole);
  });
});

describe("bad input", () => {
  test("grad length mismatch names the key", () => {
    const opt = new AdamW();
    const shard: ParamShard = { key: "unit3/rank1", param: new Float32Array(4), grad: new Float32Array(3) };
    expect(() => opt.step([shard])).toThrow(OptimizerInputError);
    expect(() => opt.step([shard])).toThrow(/unit3\/rank1/);
  });

  test("state of a different size is refused", () => {
    const opt = new AdamW();
    opt.step([{ key: "w", param: new Float32Array(4), grad: new Float32Array(4) }]);
    expect(() => opt.step([{ key: "w", param: new Float32Array(5), grad: new Float32Array(5) }])).toThrow(
      OptimizerStateError,
    );
  });

  test("malformed state dicts are refused with the field named", () => {
    const opt = new AdamW();
    expect(() => opt.loadStateDict({ kind: "SGD" } as unknown as AdamWStateDict)).toThrow(
      OptimizerStateError,
    );
    const bad = { kind: "AdamW", hyper: {}, state: { w: { step: 1, expAvg: [1, 2], expAvgSq: [1] } } };
    expect(() => opt.loadStateDict(bad as unknown as AdamWStateDict)).toThrow(/"w".*expAvgSq/);
  });

  test("hyper-parameters are validated", () => {
    expect(() => new AdamW({ betas: [1, 0.9] })).toThrow(OptimizerInputError);
    expect(() => new AdamW({ lr: -1 })).toThrow(OptimizerInputError);
    expect(() => new AdamW().step([], Number.NaN)).toThrow(OptimizerInputError);
  });

  test("the same key twice in one step is refused", () => {
    const s = { key: "w", param: new Float32Array(1), grad: new Float32Array(1) };
    expect(() => new AdamW().step([s, s])).toThrow(/passed twice/);
  });
});
