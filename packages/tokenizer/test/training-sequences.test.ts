import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  documentOrder,
  IndexedDataset,
  IndexedDatasetWriter,
  packSequences,
  truncateSequences,
} from "../src/index";

const EOS = 2;
const docs = [[1, 10, 11, 12], [1, 20, 2], [], [1, 30, 31, 32, 33, 34, 35]];
const mem = (d: number[][]) => ({ sizes: d.map((x) => x.length), get: (i: number) => d[i] });

// Naive reference: build the whole stream in one array and slice it.
function naivePack(d: number[][], seqLen: number): number[][] {
  const stream: number[] = [];
  for (const doc of d) {
    stream.push(...doc);
    if (doc.length === 0 || doc[doc.length - 1] !== EOS) stream.push(EOS);
  }
  const out: number[][] = [];
  for (let i = 0; i + seqLen <= stream.length; i += seqLen) out.push(stream.slice(i, i + seqLen));
  return out;
}

describe("packSequences", () => {
  test("hand-worked example: EOS added only where missing, last partial block dropped", () => {
    // Stream: 1 10 11 12 2 | 1 20 2 | 2 | 1 30 31 32 33 34 35 2  = 17 tokens -> 4 blocks of 4.
    const src = packSequences(mem(docs), { seqLen: 4, eosId: EOS });
    expect(src.numSequences).toBe(4);
    expect(Array.from(src.get(0).inputIds)).toEqual([1, 10, 11, 12]);
    expect(Array.from(src.get(1).inputIds)).toEqual([2, 1, 20, 2]);
    expect(Array.from(src.get(2).inputIds)).toEqual([2, 1, 30, 31]);
    expect(Array.from(src.get(3).inputIds)).toEqual([32, 33, 34, 35]);
    expect(Array.from(src.get(3).labels)).toEqual([32, 33, 34, 35]);
    expect(() => src.get(4)).toThrow(RangeError);
  });

  test("matches a naive concatenate-and-slice for many lengths", () => {
    let x = 7;
    const rand = (n: number) => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return x % n;
    };
    const many = Array.from({ length: 60 }, () => Array.from({ length: rand(30) }, () => 3 + rand(100)));
    for (const seqLen of [1, 3, 16, 64, 1000]) {
      const want = naivePack(many, seqLen);
      const src = packSequences(mem(many), { seqLen, eosId: EOS });
      expect(src.numSequences).toBe(want.length);
      want.forEach((w, i) => {
        expect(Array.from(src.get(i).inputIds)).toEqual(w);
      });
    }
  });

  test("seeded shuffle is deterministic, a permutation, and differs from file order", () => {
    const a = documentOrder(50, 42);
    expect(Array.from(a)).toEqual(Array.from(documentOrder(50, 42)));
    expect([...a].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(a)).not.toEqual(Array.from(documentOrder(50, 43)));
    expect(Array.from(documentOrder(5))).toEqual([0, 1, 2, 3, 4]);
    const src = packSequences(mem(docs), { seqLen: 4, eosId: EOS, seed: 1 });
    const order = documentOrder(docs.length, 1);
    const want = naivePack(
      Array.from(order, (i) => docs[i]),
      4,
    );
    want.forEach((w, i) => {
      expect(Array.from(src.get(i).inputIds)).toEqual(w);
    });
  });

  test("works over an IndexedDataset", async () => {
    const prefix = join(mkdtempSync(join(tmpdir(), "pack-")), "d");
    const w = new IndexedDatasetWriter(prefix, { dtype: "uint16" });
    for (const d of docs) w.addDocument(d);
    await w.finalize();
    const src = packSequences(IndexedDataset.open(prefix), { seqLen: 5, eosId: EOS });
    expect(src.numSequences).toBe(3);
    expect(Array.from(src.get(1).inputIds)).toEqual([1, 20, 2, 2, 1]);
  });
});

describe("truncateSequences", () => {
  test("cut, pad, -100 labels on padding, EOS appended only when missing and when it fits", () => {
    const src = truncateSequences(mem(docs), { seqLen: 5, padId: 0, eosId: EOS });
    expect(src.numSequences).toBe(4);
    expect(Array.from(src.get(0).inputIds)).toEqual([1, 10, 11, 12, 2]);
    expect(Array.from(src.get(0).labels)).toEqual([1, 10, 11, 12, 2]);
    expect(Array.from(src.get(1).inputIds)).toEqual([1, 20, 2, 0, 0]);
    expect(Array.from(src.get(1).labels)).toEqual([1, 20, 2, -100, -100]);
    expect(Array.from(src.get(2).inputIds)).toEqual([2, 0, 0, 0, 0]);
    expect(Array.from(src.get(3).inputIds)).toEqual([1, 30, 31, 32, 33]);
    expect(Array.from(src.get(3).labels)).toEqual([1, 30, 31, 32, 33]);
  });

  test("without eosId documents are taken as stored", () => {
    const src = truncateSequences(mem(docs), { seqLen: 6, padId: 0 });
    expect(Array.from(src.get(0).inputIds)).toEqual([1, 10, 11, 12, 0, 0]);
    expect(Array.from(src.get(0).labels)).toEqual([1, 10, 11, 12, -100, -100]);
    expect(Array.from(src.get(2).labels)).toEqual([-100, -100, -100, -100, -100, -100]);
  });

  test("LLaMA's pad id -1 is rejected with a hint", () => {
    expect(() => truncateSequences(mem(docs), { seqLen: 4, padId: -1 })).toThrow(/padId/);
  });
});
