/**
 * Deterministic per-rank test data shared by the worker processes and the test that checks them.
 * Integer-valued floats keep sums exact whatever order the ring adds them in.
 */
export function intData(rank: number, tag: string, n: number): Float32Array {
  let h = 2166136261 ^ rank;
  for (let i = 0; i < tag.length; i++) h = Math.imul(h ^ tag.charCodeAt(i), 16777619);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    h = (Math.imul(h, 1664525) + 1013904223) >>> 0;
    out[i] = (h % 201) - 100;
  }
  return out;
}

/** Smooth pseudo-random floats in [-1, 1) for the SGD equivalence test. */
export function floatData(seed: number, tag: string, n: number): Float64Array {
  const ints = intData(seed, tag, n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = ints[i] / 100 + 0.00371 * ((i * 7) % 13);
  return out;
}

/** Pieces of this many elements in the tests, so modest buffers still span many pipelined frames. */
export const TEST_PIECE_ELEMS = 1000;
/** Shared-memory staging regions this small in the tests, so the buffers below span several chunks. */
export const TEST_SHM_REGION_ELEMS = 3000;
/** The collective cases every world size runs: empty, tiny, odd, and many-piece buffers. */
export const ALL_REDUCE_SIZES = [0, 1, 7, 20_011];
export const REDUCE_SCATTER_CHUNKS = [0, 1, 5, 3_001];
export const ALL_GATHER_CHUNKS = [0, 3, 2_503];
export const BROADCAST_SIZES = [0, 5, 10_007];
