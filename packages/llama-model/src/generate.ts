import * as tf from "@tensorflow/tfjs";
import { firstNonFiniteIndex } from "./finite-check.js";
import { Xoshiro128 } from "./hf-init.js";
import { disposeCache, type KVCache, type LlamaForCausalLM } from "./llama.js";

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 or absent = greedy (argmax). */
  temperature?: number;
  /** Nucleus sampling: keep the smallest set of tokens whose probability reaches topP. Default 1. */
  topP?: number;
  seed?: number;
  /** Reuse keys/values of earlier positions (default true); false re-runs the whole prefix each step. */
  useCache?: boolean;
  /** Stop after emitting this id; default config.eos_token_id; null never stops early. */
  eosTokenId?: number | null;
  /** Called with each new token id as it is chosen. */
  onToken?: (id: number) => void;
}

export class GenerateError extends Error {
  override name = "GenerateError";
}

/** Greedy choice, or temperature + top-p sampling as HF's TopPLogitsWarper (ties keep lower ids first). */
export function pickToken(logits: Float32Array, temperature: number, topP: number, rng: Xoshiro128): number {
  if (!(temperature > 0)) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let max = Number.NEGATIVE_INFINITY;
  for (const v of logits) max = Math.max(max, v / temperature);
  const probs = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    probs[i] = Math.exp(logits[i] / temperature - max);
    sum += probs[i];
  }
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
  const kept: number[] = [];
  let mass = 0;
  for (const i of order) {
    kept.push(i);
    mass += probs[i] / sum;
    if (mass >= topP) break;
  }
  let keptSum = 0;
  for (const i of kept) keptSum += probs[i];
  let u = rng.next() * keptSum;
  for (const i of kept) {
    u -= probs[i];
    if (u < 0) return i;
  }
  return kept[kept.length - 1];
}

/**
 * Every decoding step grows the keys/values by one position, so the native backend's cache of freed
 * blocks (kept for reuse by exact size) fills with the previous step's, never to be reused: beyond a
 * little, hand them back (for a 7B model and a 500-token prompt a step leaves ~0.5 GB behind).
 */
const KEEP_CACHED_BYTES = 64 * 1024 * 1024;
function trimNativeCache(): void {
  if (tf.getBackend() !== "native") return;
  const b = tf.backend() as {
    emptyCache?: () => void;
    memory(): { nativeCachedBytes?: number };
  };
  if (typeof b.emptyCache === "function" && (b.memory().nativeCachedBytes ?? 0) > KEEP_CACHED_BYTES)
    b.emptyCache();
}

/**
 * Continue `promptIds` by up to maxNewTokens tokens. Returns only the new tokens (not the prompt).
 */
export async function generate(
  model: LlamaForCausalLM,
  promptIds: ArrayLike<number>,
  opts: GenerateOptions,
): Promise<number[]> {
  const prompt = Array.from(promptIds);
  if (prompt.length === 0) throw new GenerateError("prompt is empty: give at least one token (e.g. BOS)");
  const V = model.config.vocab_size;
  for (const id of prompt)
    if (!Number.isInteger(id) || id < 0 || id >= V)
      throw new GenerateError(`prompt token ${id} is outside [0, ${V})`);
  const temperature = opts.temperature ?? 0;
  const topP = opts.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) throw new GenerateError(`topP must be in (0, 1], got ${topP}`);
  const eosRaw = opts.eosTokenId === undefined ? model.config.eos_token_id : opts.eosTokenId;
  const eos = Array.isArray(eosRaw) ? eosRaw : eosRaw === null || eosRaw === undefined ? [] : [eosRaw];
  const rng = new Xoshiro128(opts.seed ?? 0);
  const useCache = opts.useCache ?? true;
  const all = [...prompt];
  const out: number[] = [];
  let cache: KVCache | undefined;
  try {
    for (let step = 0; step < opts.maxNewTokens; step++) {
      let logitsT: tf.Tensor2D;
      if (useCache) {
        const input = cache ? [all[all.length - 1]] : all;
        const ids = tf.tensor2d(input, [1, input.length], "int32");
        const r = model.forwardWithCache(ids, cache);
        ids.dispose();
        disposeCache(cache);
        cache = r.cache;
        logitsT = r.logits;
      } else {
        logitsT = tf.tidy(() => {
          const l = model.logits([all]);
          return tf.reshape(tf.slice(l, [0, all.length - 1, 0], [1, 1, V]), [1, V]) as tf.Tensor2D;
        });
      }
      const logits = (await logitsT.data()) as Float32Array;
      logitsT.dispose();
      // As transformers' sampling refuses "inf, nan or element < 0" probabilities: a token picked from
      // non-finite logits is noise that would look like an answer.
      const bad = firstNonFiniteIndex(logits);
      if (bad >= 0)
        throw new GenerateError(
          `the logits of generated token ${out.length + 1} are not finite (${logits[bad]} for token id ${bad}); the model's weights or inputs are broken`,
        );
      trimNativeCache();
      const next = pickToken(logits, temperature, topP, rng);
      out.push(next);
      all.push(next);
      opts.onToken?.(next);
      if (eos.includes(next)) break;
    }
  } finally {
    disposeCache(cache);
  }
  return out;
}
