import { PYTHON_WHITESPACE_CLASS } from "./encode-pair.js";

/** lm-eval `mean`. */
export function mean(arr: readonly number[]): number {
  let s = 0;
  for (const x of arr) s += x;
  return s / arr.length;
}

/** lm-eval `sample_stddev`: Bessel-corrected. */
export function sampleStddev(arr: readonly number[]): number {
  const mu = mean(arr);
  let s = 0;
  for (const x of arr) s += (x - mu) ** 2;
  return Math.sqrt(s / (arr.length - 1));
}

/** lm-eval `mean_stderr` = sample_stddev / sqrt(n); for 0/1 scores that is sqrt(p(1-p)/(n-1)). */
export function meanStderr(arr: readonly number[]): number {
  return sampleStddev(arr) / Math.sqrt(arr.length);
}

/** lm-eval `weighted_mean`: Σa / Σb over (a, b) pairs. */
export function weightedMean(items: ReadonlyArray<readonly [number, number]>): number {
  let a = 0;
  let b = 0;
  for (const [x, y] of items) {
    a += x;
    b += y;
  }
  return a / b;
}

/** lm-eval `weighted_perplexity`: exp(-Σll / Σunits), a corpus-level ratio (not a mean of ratios). */
export function weightedPerplexity(items: ReadonlyArray<readonly [number, number]>): number {
  return Math.exp(-weightedMean(items));
}

/** lm-eval `bits_per_byte`: -Σll / (Σbytes · ln 2). */
export function bitsPerByte(items: ReadonlyArray<readonly [number, number]>): number {
  return -weightedMean(items) / Math.LN2;
}

const WORD_SPLIT = new RegExp(`${PYTHON_WHITESPACE_CLASS}+`);

/** lm-eval `count_words`: `len(re.split(r"\s+", doc))` — empty edge pieces count, as in Python. */
export function countWords(doc: string): number {
  return doc.split(WORD_SPLIT).length;
}

/** lm-eval `count_bytes`: UTF-8 length. */
export function countBytes(doc: string): number {
  return Buffer.byteLength(doc, "utf8");
}

/** numpy argmax: first index of the maximum. */
export function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}
