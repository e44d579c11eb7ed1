import * as tf from "@tensorflow/tfjs";
import { describe, expect, test } from "vitest";
import { setBackend } from "../src/index";
import { fastWasmMatMulInstalled } from "../src/wasm-matmul";

function naiveMatMul(
  a: tf.Tensor,
  b: tf.Tensor,
  ta: boolean,
  tb: boolean,
): { shape: number[]; data: Float32Array } {
  // plain loops over the broadcast batch: the reference for the wrapped wasm kernel
  const A = a.arraySync() as number[][][] | number[][];
  const B = b.arraySync() as number[][][] | number[][];
  const as3 = (a.rank === 2 ? [A] : (A as number[][][])) as number[][][];
  const bs3 = (b.rank === 2 ? [B] : (B as number[][][])) as number[][][];
  const batch = Math.max(as3.length, bs3.length);
  const out: number[] = [];
  let M = 0;
  let N = 0;
  for (let i = 0; i < batch; i++) {
    const x = as3[as3.length === 1 ? 0 : i];
    const y = bs3[bs3.length === 1 ? 0 : i];
    M = ta ? x[0].length : x.length;
    const K = ta ? x.length : x[0].length;
    N = tb ? y.length : y[0].length;
    for (let r = 0; r < M; r++)
      for (let c = 0; c < N; c++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += (ta ? x[k][r] : x[r][k]) * (tb ? y[c][k] : y[k][c]);
        out.push(s);
      }
  }
  const outer = a.rank >= b.rank && as3.length >= bs3.length ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  return { shape: [...outer, M, N], data: Float32Array.from(out) };
}

describe("wasm BatchMatMul wrapper (transposes materialised, batches split)", () => {
  test.each([
    ["2-D NN", [5, 7], [7, 3], false, false],
    ["2-D NT", [5, 7], [3, 7], false, true],
    ["2-D TN", [7, 5], [7, 3], true, false],
    ["2-D TT", [7, 5], [3, 7], true, true],
    ["batched NN", [4, 5, 6], [4, 6, 3], false, false],
    ["batched NT", [4, 5, 6], [4, 3, 6], false, true],
    ["batched TN", [4, 6, 5], [4, 6, 3], true, false],
    ["batch × shared 2-D", [3, 5, 6], [6, 2], false, false],
    ["shared × batch, transposed", [1, 6, 5], [3, 2, 6], true, true],
  ])("%s equals plain loops", async (_, sa, sb, ta, tb) => {
    await setBackend("wasm");
    expect(fastWasmMatMulInstalled()).toBe(true);
    const a = tf.randomNormal(sa as number[], 0, 1, "float32", 1);
    const b = tf.randomNormal(sb as number[], 0, 1, "float32", 2);
    const ref = naiveMatMul(a, b, ta as boolean, tb as boolean);
    const c = tf.matMul(a, b, ta as boolean, tb as boolean);
    expect(c.shape).toEqual(ref.shape);
    const got = c.dataSync();
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(ref.data[i], 4);
    tf.dispose([a, b, c]);
  });

  test("4-D attention-shaped products and repeated calls with fresh operands", async () => {
    await setBackend("wasm");
    for (let rep = 0; rep < 3; rep++) {
      const q = tf.randomNormal([2, 3, 4, 8], 0, 1, "float32", 10 + rep);
      const k = tf.randomNormal([2, 3, 5, 8], 0, 1, "float32", 20 + rep);
      const s = tf.matMul(q, k, false, true);
      expect(s.shape).toEqual([2, 3, 4, 5]);
      const ref = tf.sum(tf.mul(tf.expandDims(q, 3), tf.expandDims(k, 2)), -1);
      const d = s.dataSync();
      const r = ref.dataSync();
      for (let i = 0; i < d.length; i++) expect(d[i]).toBeCloseTo(r[i], 4);
      tf.dispose([q, k, s, ref]);
    }
  });
});
