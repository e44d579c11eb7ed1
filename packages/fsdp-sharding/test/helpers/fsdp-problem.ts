import { floatData } from "./data.js";

/**
 * A fake model for the FSDP equivalence test: four units with odd sizes (so padding matters) and a
 * separable non-linear loss per sample, L_i(θ) = Σ_j a_ij·logcosh(θ_j − b_ij), whose gradient
 * a_ij·tanh(θ_j − b_ij) depends on θ, so wrong parameter gathering shows up in later steps.
 */
export const UNITS = [
  { name: "embed", params: [{ name: "embed.weight", shape: [5, 3] }] },
  {
    name: "layers.0",
    params: [
      { name: "layers.0.w", shape: [3, 3] },
      { name: "layers.0.b", shape: [3] },
    ],
  },
  {
    name: "layers.1",
    params: [
      { name: "layers.1.w", shape: [4, 2] },
      { name: "layers.1.b", shape: [1] },
    ],
  },
  { name: "head", params: [{ name: "head.weight", shape: [7] }] },
];
export const PARAM_NAMES = UNITS.flatMap((u) => u.params.map((p) => p.name));
export const PARAM_SIZES = UNITS.flatMap((u) => u.params.map((p) => p.shape.reduce((a, b) => a * b, 1)));
export const THETA = PARAM_SIZES.reduce((a, b) => a + b, 0);
export const GLOBAL_BATCH = 12;
export const STEPS = 3;
export const LR = 0.5;
export const STRATEGIES = [
  "full",
  "grad-op",
  "hybrid",
  "hybrid-grad-op",
  "none",
  "full-sum",
  "grad-op-accum",
  "full-per-unit",
] as const;

export function initialTheta(): Float64Array {
  return floatData(999, "init", THETA);
}

/** Gradient of sample `i` of step `step` at θ (float64). */
export function sampleGrad(step: number, i: number, theta: ArrayLike<number>): Float64Array {
  const a = floatData(step * GLOBAL_BATCH + i, "a", THETA);
  const b = floatData(step * GLOBAL_BATCH + i, "b", THETA);
  const g = new Float64Array(THETA);
  for (let j = 0; j < THETA; j++) g[j] = a[j] * Math.tanh(theta[j] - b[j]);
  return g;
}

export function toParamMap(theta: ArrayLike<number>): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  let off = 0;
  PARAM_NAMES.forEach((name, k) => {
    m.set(name, Float32Array.from(Array.prototype.slice.call(theta, off, off + PARAM_SIZES[k])));
    off += PARAM_SIZES[k];
  });
  return m;
}

export function fromParamMap(m: ReadonlyMap<string, Float32Array>): Float64Array {
  const out = new Float64Array(THETA);
  let off = 0;
  PARAM_NAMES.forEach((name, k) => {
    out.set(m.get(name)!, off);
    off += PARAM_SIZES[k];
  });
  return out;
}

/** One process, whole global batch, plain loops: the reference the sharded runs must reproduce. */
export function referenceSgd(): { theta: Float64Array; norms: number[] } {
  const theta = initialTheta();
  const norms: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const mean = new Float64Array(THETA);
    for (let i = 0; i < GLOBAL_BATCH; i++) {
      const g = sampleGrad(s, i, theta);
      for (let j = 0; j < THETA; j++) mean[j] += g[j] / GLOBAL_BATCH;
    }
    norms.push(Math.sqrt(mean.reduce((acc, v) => acc + v * v, 0)));
    for (let j = 0; j < THETA; j++) theta[j] -= LR * mean[j];
  }
  return { theta, norms };
}
