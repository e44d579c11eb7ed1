import { OptimizerInputError } from "./errors.js";

/**
 * Which parameters get weight decay.
 * - "matrices": only tensors with >= 2 dimensions (Linear and embedding weights), not norm gains
 *   or biases — the usual GPT/LLaMA recipe.
 * - "all": every parameter, as BioMed-LLaMA's own run did (a single torch param group).
 */
export type DecayPolicy = "matrices" | "all";

/** True when parameter `name` with `shape` should be decayed under `policy`. */
export function decayMask(
  _name: string,
  shape: readonly number[],
  policy: DecayPolicy = "matrices",
): boolean {
  if (policy === "all") return true;
  if (policy === "matrices") return shape.length >= 2;
  throw new OptimizerInputError(
    `decayMask: unknown policy "${policy as string}" (expected "matrices" or "all")`,
  );
}

/** A parameter inside a flat buffer: where it starts and its shape. */
export interface FlatParamEntry {
  name: string;
  shape: readonly number[];
  /** Element offset in the flat buffer; omitted = right after the previous entry. */
  offset?: number;
}

/**
 * Per-element decay mask (1 = decay) for the slice [start, start+length) of a flat buffer laid out
 * as `entries`. Padding past the last entry gets 0 (padding stays zero whatever the decay anyway).
 * Pass the result as `ParamShard.decayMask`.
 */
export function flatDecayMask(
  entries: readonly FlatParamEntry[],
  start: number,
  length: number,
  policy: DecayPolicy = "matrices",
): Uint8Array {
  const mask = new Uint8Array(length);
  for (const [lo, hi] of flatDecayRanges(entries, start, length, policy)) mask.fill(1, lo, hi);
  return mask;
}

/**
 * `flatDecayMask` as ranges: the `[start, end)` element ranges of the slice [start, start+length) that
 * decay, relative to the slice, merged where adjacent. Pass the result as `ParamShard.decayRanges`.
 */
export function flatDecayRanges(
  entries: readonly FlatParamEntry[],
  start: number,
  length: number,
  policy: DecayPolicy = "matrices",
): [number, number][] {
  const ranges: [number, number][] = [];
  let cursor = 0;
  for (const e of entries) {
    const off = e.offset ?? cursor;
    const numel = e.shape.reduce((a, b) => a * b, 1);
    cursor = off + numel;
    if (!decayMask(e.name, e.shape, policy)) continue;
    const lo = Math.max(off, start) - start;
    const hi = Math.min(off + numel, start + length) - start;
    if (lo < hi) ranges.push([lo, hi]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of ranges) {
    const last = merged[merged.length - 1];
    if (last && last[1] >= lo) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return merged;
}
