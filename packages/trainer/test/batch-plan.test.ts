import { describe, expect, test } from "vitest";
import { BatchPlan } from "../src/batch-plan";
import { ConfigError } from "../src/errors";

const base = { numSequences: 103, globalBatch: 8, order: "shuffle" as const, seed: 7 };

describe("BatchPlan", () => {
  test("sequential order follows the documented formula (naive loop)", () => {
    const p = new BatchPlan({ ...base, order: "sequential", microBatch: 2, dpRanks: 2 });
    expect(p.accumulation).toBe(2);
    expect(p.stepsPerEpoch).toBe(12); // ⌊103 / 8⌋
    expect(p.stepsForEpochs(1)).toBe(12);
    expect(p.stepsForEpochs(2.5)).toBe(30);
    for (let t = 0; t < 30; t++) {
      const s = t % 12;
      for (let r = 0; r < 2; r++)
        for (let k = 0; k < 2; k++) {
          const start = s * 8 + r * 4 + k * 2;
          expect(p.microBatchIndices(t, r, k)).toEqual([start, start + 1]);
        }
    }
  });

  test("a step's sequences do not depend on the split into ranks and micro-batches", () => {
    const ref = new BatchPlan({ ...base, microBatch: 8, dpRanks: 1 });
    for (const [m, w] of [
      [1, 1],
      [2, 2],
      [1, 4],
      [4, 2],
    ]) {
      const p = new BatchPlan({ ...base, microBatch: m, dpRanks: w });
      for (let t = 0; t < 40; t++) expect(p.stepIndices(t)).toEqual(ref.stepIndices(t));
    }
  });

  test("shuffle: each epoch visits distinct sequences, differs per epoch, same for the same seed", () => {
    const p = new BatchPlan({ ...base, microBatch: 4, dpRanks: 1 });
    const epoch = (e: number) => {
      const out: number[] = [];
      for (let t = e * p.stepsPerEpoch; t < (e + 1) * p.stepsPerEpoch; t++) out.push(...p.stepIndices(t));
      return out;
    };
    const e0 = epoch(0);
    const e1 = epoch(1);
    expect(new Set(e0).size).toBe(96);
    expect(e0.every((i) => i >= 0 && i < 103)).toBe(true);
    expect(e0).not.toEqual(e1);
    expect(e0).not.toEqual([...e0].sort((a, b) => a - b));
    const again = new BatchPlan({ ...base, microBatch: 2, dpRanks: 2 });
    expect(again.stepIndices(13)).toEqual(p.stepIndices(13));
    const other = new BatchPlan({ ...base, seed: 8, microBatch: 4, dpRanks: 1 });
    expect(other.stepIndices(0)).not.toEqual(p.stepIndices(0));
  });

  test("shuffle is roughly uniform: position 0 over many seeds", () => {
    const counts = new Array(10).fill(0);
    for (let seed = 0; seed < 5000; seed++)
      counts[
        new BatchPlan({
          numSequences: 10,
          globalBatch: 10,
          microBatch: 10,
          dpRanks: 1,
          order: "shuffle",
          seed,
        }).stepIndices(0)[0]
      ]++;
    // chi-square with 9 dof; 27.9 is the 0.001 critical value
    const chi = counts.reduce((a, c) => a + (c - 500) ** 2 / 500, 0);
    expect(chi).toBeLessThan(27.9);
  });

  test("cursor and mismatch", () => {
    const p = new BatchPlan({ ...base, microBatch: 4, dpRanks: 1 });
    const c = p.cursor(25);
    expect(c).toMatchObject({ step: 25, epoch: 2, stepInEpoch: 1, sequencesConsumed: 200 });
    expect(p.cursorMismatch(c)).toEqual([]);
    const q = new BatchPlan({ ...base, globalBatch: 4, microBatch: 4, dpRanks: 1 });
    expect(q.cursorMismatch(c)).toHaveLength(1);
  });

  test("rejects a global batch that does not split, and too little data", () => {
    expect(() => new BatchPlan({ ...base, microBatch: 3, dpRanks: 1 })).toThrow(ConfigError);
    expect(() => new BatchPlan({ ...base, numSequences: 5, microBatch: 1, dpRanks: 1 })).toThrow(
      /fewer than one global batch/,
    );
  });
});
