import type { LlamaForCausalLM } from "./llama.js";

/** Where a model's parameters first hold a value that is not a finite number. */
export interface NonFiniteParameter {
  /** Hugging Face name of the parameter (`model.layers.0.mlp.up_proj.weight`). */
  name: string;
  /** Flat (row-major) index of the value in that parameter. */
  index: number;
  /** NaN, Infinity or -Infinity. */
  value: number;
}

/** Index of the first NaN or ±Infinity in `values`, or -1. */
export function firstNonFiniteIndex(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // v - v is 0 for every finite v and NaN for NaN and ±Infinity: one comparison per value.
    if (v - v !== 0) return i;
  }
  return -1;
}

/**
 * The first parameter (in the model's HF order) holding NaN or ±Infinity, or null when all are
 * finite. Such weights make every output meaningless, so a command that loads a checkpoint to use it
 * says so at once instead of printing "⁇ ⁇" or NaN scores. Reads each parameter once through
 * `data()`, which gives float32 values on every backend (bfloat16-held weights are widened into a
 * temporary copy, one parameter at a time); the weights themselves are not changed.
 */
export async function firstNonFiniteParameter(model: LlamaForCausalLM): Promise<NonFiniteParameter | null> {
  for (const [name, v] of model.namedParameters()) {
    const values = (await v.data()) as Float32Array;
    const index = firstNonFiniteIndex(values);
    if (index >= 0) return { name, index, value: values[index] };
  }
  return null;
}
