import { type LlamaConfig, parameterShapes } from "./config.js";

/**
 * xoshiro128** seeded through splitmix32: a small, well-tested generator, so the same seed gives the
 * same weights on every backend and platform (tf.randomNormal's stream depends on the backend).
 */
export class Xoshiro128 {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  stateDict(): { s: number[]; spare: number | null } {
    return { s: Array.from(this.s), spare: this.spare };
  }

  loadStateDict(state: { s: number[]; spare: number | null }): void {
    this.s.set(state.s);
    this.spare = state.spare;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** FNV-1a of the name, mixed with the seed: each tensor gets its own stream, independent of order. */
function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/**
 * HF's LlamaPreTrainedModel._init_weights: Linear and Embedding ~ normal(0, initializer_range), the
 * padding row of the embedding zeroed, RMSNorm weights 1.
 */
export function initialParameter(
  cfg: LlamaConfig,
  name: string,
  shape: number[],
  seed: number,
): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (name.endsWith("norm.weight")) {
    out.fill(1);
    return out;
  }
  const std = cfg.initializer_range ?? 0.02;
  const rng = new Xoshiro128(tensorSeed(seed, name));
  for (let i = 0; i < n; i++) out[i] = std * rng.normal();
  const pad = cfg.pad_token_id;
  if (name === "model.embed_tokens.weight" && typeof pad === "number" && pad >= 0 && pad < shape[0])
    out.fill(0, pad * shape[1], (pad + 1) * shape[1]);
  return out;
}

/** All initial parameters, one at a time (a 7B model never needs two copies). */
export function* initialParameters(
  cfg: LlamaConfig,
  seed: number,
): Generator<[string, number[], Float32Array]> {
  for (const [name, shape] of parameterShapes(cfg))
    yield [name, shape, initialParameter(cfg, name, shape, seed)];
}
