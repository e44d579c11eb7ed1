import { BoxMuller, unitFromUint32, Xoshiro128StarStar } from "@biomed-llama/seeded-random";
import { type LlamaConfig, parameterShapes } from "./config.js";

/**
 * xoshiro128** seeded through splitmix32 (both from @biomed-llama/seeded-random): a small, well-tested
 * generator, so the same seed gives the same weights on every backend and platform (tf.randomNormal's
 * stream depends on the backend). Uniforms are one output / 2^32; normals are Box–Muller pairs.
 */
export class Xoshiro128 {
  private readonly core: Xoshiro128StarStar;
  private readonly normals: BoxMuller;

  constructor(seed: number) {
    this.core = new Xoshiro128StarStar(seed, "splitmix32");
    this.normals = new BoxMuller(this.core);
  }

  nextUint32(): number {
    return this.core.nextUint32();
  }

  /** Uniform in [0, 1). */
  next(): number {
    return unitFromUint32(this.core.nextUint32());
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    return this.normals.next();
  }

  stateDict(): { s: number[]; spare: number | null } {
    return { s: this.core.getState(), spare: this.normals.spare };
  }

  loadStateDict(state: { s: number[]; spare: number | null }): void {
    this.core.setState(state.s);
    this.normals.spare = state.spare;
  }
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
