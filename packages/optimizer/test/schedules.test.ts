import { describe, expect, test } from "vitest";
import { OptimizerInputError, OptimizerStateError } from "../src/errors";
import {
  ConstantLr,
  CosineWithWarmup,
  constantLr,
  cosineWithWarmup,
  LinearWithWarmup,
  linearWithWarmup,
  warmupStepsFrom,
} from "../src/schedules";

describe("cosineWithWarmup", () => {
  const s = cosineWithWarmup({ peakLr: 1e-3, warmupSteps: 100, totalSteps: 1100, minLrRatio: 0.1 });
  test("key steps", () => {
    expect(s.lr(0)).toBe(0);
    expect(s.lr(50)).toBeCloseTo(5e-4, 15);
    expect(s.lr(100)).toBeCloseTo(1e-3, 15);
    expect(s.lr(600)).toBeCloseTo(1e-3 * (0.1 + 0.9 * 0.5), 15); // half way: cos(π/2) = 0
    expect(s.lr(350)).toBeCloseTo(1e-3 * (0.1 + 0.9 * 0.5 * (1 + Math.SQRT1_2)), 15); // quarter: cos(π/4)
    expect(s.lr(1100)).toBeCloseTo(1e-4, 15);
    expect(s.lr(5000)).toBeCloseTo(1e-4, 15);
  });
  test("monotone after warmup", () => {
    for (let k = 100; k < 1100; k++) expect(s.lr(k + 1)).toBeLessThanOrEqual(s.lr(k));
  });
});

describe("linearWithWarmup", () => {
  test("key steps", () => {
    const s = linearWithWarmup({ peakLr: 2, warmupSteps: 10, totalSteps: 110, minLrRatio: 0.25 });
    expect(s.lr(5)).toBe(1);
    expect(s.lr(10)).toBe(2);
    expect(s.lr(60)).toBeCloseTo(2 * (0.25 + 0.75 * 0.5), 14);
    expect(s.lr(110)).toBeCloseTo(0.5, 14);
    expect(s.lr(200)).toBeCloseTo(0.5, 14);
  });
  test("minLrRatio 0 reaches 0", () => {
    expect(new LinearWithWarmup({ peakLr: 1, warmupSteps: 0, totalSteps: 4 }).lr(4)).toBe(0);
  });
});

describe("constantLr", () => {
  test("with and without warmup", () => {
    expect(constantLr({ peakLr: 3 }).lr(0)).toBe(3);
    const s = constantLr({ peakLr: 3, warmupSteps: 3 });
    expect([0, 1, 2, 3, 1000].map((k) => s.lr(k))).toEqual([0, 1, 2, 3, 3]);
  });
});

describe("warmupStepsFrom", () => {
  test("ratio rounds up like HF get_warmup_steps, integers are steps", () => {
    expect(warmupStepsFrom(0.03, 1000)).toBe(30);
    expect(warmupStepsFrom(0.1, 95)).toBe(10);
    expect(warmupStepsFrom(0, 95)).toBe(0);
    expect(warmupStepsFrom(200, 1000)).toBe(200);
  });
  test("bad values", () => {
    expect(() => warmupStepsFrom(1.5, 100)).toThrow(OptimizerInputError);
    expect(() => warmupStepsFrom(-0.1, 100)).toThrow(OptimizerInputError);
  });
});

describe("state and validation", () => {
  test("loadStateDict restores the configuration", () => {
    const a = new CosineWithWarmup({ peakLr: 1e-3, warmupSteps: 10, totalSteps: 100, minLrRatio: 0.1 });
    const b = new CosineWithWarmup({ peakLr: 5, warmupSteps: 0, totalSteps: 1 });
    b.loadStateDict(JSON.parse(JSON.stringify(a.stateDict())));
    for (const k of [0, 5, 10, 50, 100]) expect(b.lr(k)).toBe(a.lr(k));
  });
  test("a state dict of another kind is refused", () => {
    const a = new ConstantLr({ peakLr: 1 });
    expect(() =>
      new LinearWithWarmup({ peakLr: 1, warmupSteps: 0, totalSteps: 5 }).loadStateDict(a.stateDict()),
    ).toThrow(OptimizerStateError);
  });
  test("bad configs and steps", () => {
    expect(() => cosineWithWarmup({ peakLr: 1, warmupSteps: 20, totalSteps: 10 })).toThrow(/warmupSteps/);
    expect(() => cosineWithWarmup({ peakLr: 1, warmupSteps: 0, totalSteps: 10, minLrRatio: 2 })).toThrow(
      /minLrRatio/,
    );
    expect(() => cosineWithWarmup({ peakLr: 1, warmupSteps: 0, totalSteps: 10 }).lr(-1)).toThrow(/step/);
  });
});
