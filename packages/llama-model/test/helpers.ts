import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "vitest";

export const GOLDEN_DIR = path.join(import.meta.dirname, "fixtures", "golden");

/** max |a − b| ≤ rtol · max |b| + atol, reported with the worst index. */
export function expectAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol = 1e-4,
  atol = 1e-6,
): void {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  const tol = rtol * scale + atol;
  if (!(worst <= tol))
    throw new Error(
      `max |diff| ${worst} at ${at} (actual ${actual[at]}, expected ${expected[at]}) > tol ${tol}`,
    );
}

/**
 * Bit-identical float32 arrays, reported with the first differing index. vitest's toEqual walks a typed
 * array element by element through its generic equality and takes seconds on the 480k logits of a test
 * model; this compares bytes.
 */
export function expectBitEqual(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  if (
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    )
  )
    return;
  let i = 0;
  while (a[i] === b[i]) i++;
  throw new Error(`first difference at ${i}: actual ${actual[i]}, expected ${expected[i]}`);
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export const TINY = {
  vocab_size: 64,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
};

export function rows(data: ArrayLike<number>, b: number, t: number): number[][] {
  return Array.from({ length: b }, (_, i) => Array.from({ length: t }, (_, j) => data[i * t + j]));
}
