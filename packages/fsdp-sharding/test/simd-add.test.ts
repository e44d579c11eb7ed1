import { expect, test } from "vitest";
import { addInto, simdAddAvailable, sumInto } from "../src/transports/simd-add.js";

function data(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out[i] = (x / 2147483648 - 0.5) * 10 ** ((i % 9) - 4); // mixed magnitudes: rounding matters
  }
  return out;
}

/** The reference: float64 sum rounded to float32, one element at a time. */
function naive(a: Float32Array, b: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround(a[i] + b[i]);
  return out;
}

test("the SIMD kernel is in use on this Node", () => {
  expect(simdAddAvailable()).toBe(true);
});

test.each([0, 1, 15, 16, 63, 64, 65, 1000, 65_536, 65_536 * 2 + 37])(
  "n = %i: bit-identical to the float32-rounded sum",
  (n) => {
    const a = data(n + 5, 1);
    const b = data(n + 3, 2);
    const dst = new Float32Array(n).fill(Number.NaN);
    addInto(dst, a, b);
    expect(Array.from(dst)).toEqual(Array.from(naive(a, b, n)));
  },
);

test("dst may alias a (in-place all-reduce) and views at odd offsets work", () => {
  const n = 70_001;
  const backing = data(n + 3, 3);
  const a = backing.subarray(3); // not 16-byte aligned
  const b = data(n, 4);
  const want = naive(a, b, n);
  addInto(a, a, b);
  expect(Array.from(a)).toEqual(Array.from(want));
});

/** The reference for sumInto: left to right, each partial sum rounded to float32. */
function naiveChain(sources: Float32Array[], n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let acc = sources[0][i];
    for (let q = 1; q < sources.length; q++) acc = Math.fround(acc + sources[q][i]);
    out[i] = acc;
  }
  return out;
}

test.each([
  [1, 1000],
  [2, 63],
  [2, 65_536 * 2 + 37],
  [3, 70_001],
  [5, 65_536 + 17],
])("sumInto over %i sources, n = %i: bit-identical to the left-to-right float32 sum", (k, n) => {
  const sources = Array.from({ length: k }, (_, q) => data(n + q, 10 + q));
  const dst = new Float32Array(n).fill(Number.NaN);
  sumInto(dst, sources);
  expect(Array.from(dst)).toEqual(Array.from(naiveChain(sources, n)));
});

test("sumInto: dst may be the first source, at an odd offset", () => {
  const n = 65_536 * 3 + 5;
  const first = data(n + 1, 20).subarray(1);
  const rest = [data(n, 21), data(n, 22), data(n, 23)];
  const want = naiveChain([first, ...rest], n);
  sumInto(first, [first, ...rest]);
  expect(Array.from(first)).toEqual(Array.from(want));
});
