import { ShardingError } from "../errors.js";

/**
 * The result buffer of a collective that produces a new array (reduce-scatter, all-gather): the caller's
 * `out` when given — torch's `reduce_scatter_tensor(output, input)` / `all_gather_into_tensor(output,
 * input)`, so a loop can reuse one buffer instead of allocating (and page-faulting) a fresh one per call —
 * checked for length, else a fresh array.
 */
export function outputBuffer(out: Float32Array | undefined, length: number, what: string): Float32Array {
  if (!out) return scratchFloats(length);
  if (out.length !== length)
    throw new ShardingError(`${what}: out has ${out.length} elements, the result has ${length}`);
  return out;
}

/**
 * A float buffer a collective will overwrite completely: skips the zero-fill `new Float32Array(n)` does
 * (a measurable share of a large collective's time). Its own ArrayBuffer, never a slice of Node's pool.
 */
export function scratchFloats(n: number): Float32Array {
  return new Float32Array(Buffer.allocUnsafeSlow(n * 4).buffer, 0, n);
}
