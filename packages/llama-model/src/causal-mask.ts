/** Additive mask value for keys a query may not see; exp() of it underflows to exactly 0 in float32. */
export const MASKED = -1e9;

/**
 * Causal mask rows for grouped queries: row r·Tq + i is query position past + i (for every one of the
 * `rep` query heads sharing a key/value head), column j is key position k0 + j.
 */
export function causalMaskRows(
  rep: number,
  tq: number,
  past: number,
  k0: number,
  kLen: number,
): Float32Array {
  const m = new Float32Array(rep * tq * kLen);
  for (let r = 0; r < rep; r++)
    for (let i = 0; i < tq; i++) {
      const row = (r * tq + i) * kLen;
      const limit = past + i - k0; // last visible column
      for (let j = Math.max(0, limit + 1); j < kLen; j++) m[row + j] = MASKED;
    }
  return m;
}
