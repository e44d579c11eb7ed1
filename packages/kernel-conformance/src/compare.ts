// Comparing a backend's outputs with the reference's: tolerances in float32 ulps, optionally scaled.

import type * as tf from "@tensorflow/tfjs";

export interface Out {
  shape: number[];
  dtype: string;
  values: ArrayLike<number>;
}
export type Fn = () => tf.Tensor | tf.Tensor[];

export interface Tol {
  /** 0: exact. */
  ulps: number;
  /** Absolute slack added to the ulps bound (only where the reference itself is an approximation). */
  abs?: number;
}
export const EXACT: Tol = { ulps: 0 };
export const ulps = (n: number, abs?: number): Tol => ({ ulps: n, abs });

/** One float32 ulp at magnitude |x|. */
export function ulp(x: number): number {
  const a = Math.abs(x);
  if (!(a >= 2 ** -126)) return 2 ** -149;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  return 2 ** (e - 23);
}

export function within(got: number, want: number, tol: Tol, scale: number): boolean {
  if (Number.isNaN(want) || Number.isNaN(got)) return Number.isNaN(want) && Number.isNaN(got);
  if (got === want) return true;
  if (!Number.isFinite(want) || !Number.isFinite(got) || tol.ulps === 0) return false;
  const mag = Math.max(Math.abs(want), Number.isFinite(scale) ? Math.abs(scale) : 0);
  return Math.abs(got - want) <= tol.ulps * ulp(mag) + (tol.abs ?? 0);
}

/** The looser of two tolerances, bound by bound. */
export function maxTol(a: Tol, b: Tol): Tol {
  const abs = Math.max(a.abs ?? 0, b.abs ?? 0);
  return abs > 0 ? { ulps: Math.max(a.ulps, b.ulps), abs } : { ulps: Math.max(a.ulps, b.ulps) };
}

/**
 * The first output of `got` that differs from `want` beyond `tol` (its first few elements), or null.
 * `floatTol`, when given, replaces `tol` for float32 outputs: a backend's policy may widen the bound on
 * float32 values, never on int32 or bool ones.
 */
export function describeDiff(
  label: string,
  got: Out[],
  want: Out[],
  tol: Tol,
  scale?: Out[],
  floatTol?: Tol,
): string | null {
  if (got.length !== want.length) return `${label}: ${got.length} outputs, cpu ${want.length}`;
  for (let k = 0; k < want.length; k++) {
    const g = got[k];
    const w = want[k];
    if (g.dtype !== w.dtype) return `${label}[${k}]: dtype ${g.dtype}, cpu ${w.dtype}`;
    if (g.shape.join(",") !== w.shape.join(","))
      return `${label}[${k}]: shape [${g.shape}], cpu [${w.shape}]`;
    if (g.values.length !== w.values.length)
      return `${label}[${k}]: ${g.values.length} values, cpu ${w.values.length}`;
    const t = floatTol && w.dtype === "float32" ? floatTol : tol;
    const bad: string[] = [];
    let count = 0;
    // A float32 tensor's values are float32 numbers. (The cpu backend's Cast from int32 or bool keeps the
    // int32 array under the float32 dtype, so it can hand out e.g. 2147483647; a float32 holds 2^31.)
    const ref = w.dtype === "float32" ? (v: number) => Math.fround(v) : (v: number) => v;
    for (let i = 0; i < w.values.length; i++) {
      const s = scale ? scale[k].values[i] : 0;
      if (!within(g.values[i], ref(w.values[i]), t, s)) {
        count++;
        if (bad.length < 6)
          bad.push(`  [${i}] ${g.values[i]} vs cpu ${w.values[i]}${s ? ` (scale ${s})` : ""}`);
      }
    }
    if (count > 0)
      return `${label}[${k}] (shape [${w.shape}], ${w.dtype}, tol ${JSON.stringify(t)}): ${count} of ${w.values.length} differ\n${bad.join("\n")}`;
  }
  return null;
}
