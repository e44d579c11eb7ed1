import { describe, expect, test } from "vitest";
import {
  argmax,
  bitsPerByte,
  countBytes,
  countWords,
  mean,
  meanStderr,
  weightedPerplexity,
} from "../src/metrics.js";

describe("metrics (lm-eval api/metrics.py)", () => {
  test("mean_stderr of 0/1 scores is sqrt(p(1-p)/(n-1))", () => {
    const xs = [1, 0, 0, 1, 1, 0, 1, 1]; // p = 5/8, n = 8
    expect(mean(xs)).toBe(5 / 8);
    expect(meanStderr(xs)).toBeCloseTo(Math.sqrt(((5 / 8) * (3 / 8)) / 7), 15);
  });

  test("mean_stderr of general values: sample std (n-1) / sqrt(n)", () => {
    // values 2,4,4,4,5,5,7,9: mean 5, Σ(x-μ)² = 32, sample var 32/7
    expect(meanStderr([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7) / Math.sqrt(8), 15);
  });

  test("count_words = len(re.split(r'\\s+', doc)), edge pieces included", () => {
    expect(countWords("a b  c")).toBe(3);
    expect(countWords(" a b ")).toBe(4); // Python: ['', 'a', 'b', '']
    expect(countWords("")).toBe(1); // Python: ['']
    expect(countWords("a\x1cb")).toBe(2); // Python's \s includes \x1c
    expect(countWords("a\ufeffb")).toBe(1); // ... but not U+FEFF
  });

  test("count_bytes is the UTF-8 length", () => {
    expect(countBytes("abc")).toBe(3);
    expect(countBytes("é")).toBe(2);
    expect(countBytes("µg/kg 😀")).toBe(2 + 5 + 4);
  });

  test("perplexities are ratios of corpus sums, not means of per-doc ratios", () => {
    const items: Array<[number, number]> = [
      [-10, 5],
      [-30, 10],
    ];
    expect(weightedPerplexity(items)).toBeCloseTo(Math.exp(40 / 15), 12);
    expect(bitsPerByte(items)).toBeCloseTo(40 / 15 / Math.log(2), 12);
    const meanOfRatios = Math.exp((10 / 5 + 30 / 10) / 2);
    expect(weightedPerplexity(items)).not.toBeCloseTo(meanOfRatios, 3);
  });

  test("argmax returns the first maximum, like numpy", () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([-5])).toBe(0);
  });
});
