// Test-side mirror of workers/collective-checks.ts: what every rank's saved collective results must
// equal, computed naively from helpers/data.ts. Shared by the TCP and MPI transport tests.
import { expect } from "vitest";
import {
  ALL_GATHER_CHUNKS,
  ALL_REDUCE_SIZES,
  BROADCAST_SIZES,
  intData,
  REDUCE_SCATTER_CHUNKS,
} from "./data.js";

export function naive(ranks: number[], tag: string, n: number, op: "sum" | "avg" | "max"): Float32Array {
  const out = new Float64Array(n).fill(op === "max" ? -Infinity : 0);
  for (const r of ranks) {
    const d = intData(r, tag, n);
    for (let i = 0; i < n; i++) out[i] = op === "max" ? Math.max(out[i], d[i]) : out[i] + d[i];
  }
  if (op === "avg") for (let i = 0; i < n; i++) out[i] /= ranks.length;
  return Float32Array.from(out);
}

export function expectSame(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++)
    if (actual[i] !== expected[i])
      expect(`${what}[${i}] = ${actual[i]}`).toBe(`${what}[${i}] = ${expected[i]}`);
}

/** Every collective of runCollectiveChecks, on every rank of a node-major world of `nproc` per node. */
export function expectCollectiveResults(
  ranks: number[],
  nproc: number,
  load: (rank: number, name: string) => Float32Array,
): void {
  const size = ranks.length;
  for (const r of ranks) {
    for (const n of ALL_REDUCE_SIZES)
      for (const op of ["sum", "avg", "max"] as const)
        expectSame(
          load(r, `ar-${op}-${n}`),
          naive(ranks, `ar-${n}`, n, op),
          `rank ${r} allReduce ${op} n=${n}`,
        );
    for (const k of REDUCE_SCATTER_CHUNKS) {
      const full = naive(ranks, `rs-${k}`, k * size, "sum");
      expectSame(load(r, `rs-${k}`), full.slice(r * k, (r + 1) * k), `rank ${r} reduceScatter k=${k}`);
      expectSame(
        load(r, `rs-out-${k}`),
        full.slice(r * k, (r + 1) * k),
        `rank ${r} reduceScatter into out k=${k}`,
      );
    }
    for (const k of ALL_GATHER_CHUNKS) {
      const cat = new Float32Array(k * size);
      for (const q of ranks) cat.set(intData(q, `ag-${k}`, k), q * k);
      expectSame(load(r, `ag-${k}`), cat, `rank ${r} allGather k=${k}`);
      expectSame(load(r, `ag-out-${k}`), cat, `rank ${r} allGather into out k=${k}`);
    }
    for (const n of BROADCAST_SIZES)
      for (const root of ranks)
        expectSame(
          load(r, `bc-${n}-${root}`),
          intData(root, `bc-${n}`, n),
          `rank ${r} broadcast root ${root}`,
        );
    const times = (q: number) => new Float64Array(load(q, "barrier-times").slice().buffer);
    const lastArrival = Math.max(...ranks.map((q) => times(q)[0]));
    expect(times(r)[1], `rank ${r} left the barrier before the last rank arrived`).toBeGreaterThanOrEqual(
      lastArrival - 1,
    );
    expectSame(load(r, "queued-1"), naive(ranks, "q1", 11, "sum"), "queued 1");
    expectSame(load(r, "queued-2"), naive(ranks, "q2", 13, "sum"), "queued 2");
    const node = Math.floor(r / nproc);
    const intra = ranks.filter((q) => Math.floor(q / nproc) === node);
    const inter = ranks.filter((q) => q % nproc === r % nproc);
    expect(Array.from(load(r, "sub-intra-node-members"))).toEqual(intra);
    expect(Array.from(load(r, "sub-inter-node-members"))).toEqual(inter);
    expectSame(load(r, "sub-intra-node"), naive(intra, "intra-node", 1001, "sum"), `rank ${r} intra-node`);
    expectSame(load(r, "sub-inter-node"), naive(inter, "inter-node", 1001, "sum"), `rank ${r} inter-node`);
  }
}
