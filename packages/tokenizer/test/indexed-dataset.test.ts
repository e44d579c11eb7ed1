import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, test } from "vitest";
import { IndexedDataset, IndexedDatasetError, IndexedDatasetWriter } from "../src/index";

const fixture = (name: string) => join(import.meta.dirname, "fixtures", name);
const tmp = () => mkdtempSync(join(tmpdir(), "mmidx-"));

// The sequences written by scripts/make-megatron-fixture.py (numpy, following Megatron's builder).
const SEQS = [[1, 15043, 3186, 2], [1, 29871, 243, 162], [155, 131, 2], [1, 65535, 0, 32000, 2], [], [7]];

describe("reads files written by Megatron's layout in numpy", () => {
  for (const dtype of ["uint16", "int32"] as const) {
    test(dtype, () => {
      const ds = IndexedDataset.open(fixture(`megatron-${dtype}`));
      expect(ds.dtype).toBe(dtype);
      expect(ds.numSequences).toBe(6);
      // Document 1 holds two sequences: Megatron's document index [0, 1, 3, 4, 5, 6].
      expect(ds.numDocuments).toBe(5);
      expect(Array.from(ds.documentIndices, Number)).toEqual([0, 1, 3, 4, 5, 6]);
      expect(Array.from(ds.sizes)).toEqual(SEQS.map((s) => s.length));
      const item = dtype === "uint16" ? 2 : 4;
      expect(Array.from(ds.pointers, Number)).toEqual([0, 4, 8, 11, 16, 16].map((p) => p * item));
      expect(ds.totalTokens).toBe(17);
      SEQS.forEach((s, i) => {
        const got = ds.get(i);
        expect(got).toBeInstanceOf(dtype === "uint16" ? Uint16Array : Int32Array);
        expect(Array.from(got)).toEqual(s);
      });
      ds.close();
    });
  }
});

describe("writer", () => {
  test("produces the same bytes as the numpy/Megatron writer", async () => {
    const prefix = join(tmp(), "ours");
    const w = new IndexedDatasetWriter(prefix, { dtype: "uint16" });
    for (const s of SEQS) w.addDocument(s);
    await w.finalize();
    expect(readFileSync(`${prefix}.bin`)).toEqual(readFileSync(fixture("megatron-onedoc-uint16.bin")));
    expect(readFileSync(`${prefix}.idx`)).toEqual(readFileSync(fixture("megatron-onedoc-uint16.idx")));
  });

  test("header fields at Megatron's offsets (naive decode)", async () => {
    const prefix = join(tmp(), "hdr");
    const w = new IndexedDatasetWriter(prefix, { dtype: "int32" });
    w.addDocument([5, 6, 7]);
    w.addDocument(new Int32Array([100000]));
    await w.finalize();
    const b = readFileSync(`${prefix}.idx`);
    expect(b.subarray(0, 9).toString("latin1")).toBe("MMIDIDX\0\0");
    expect(b.readBigUInt64LE(9)).toBe(1n);
    expect(b[17]).toBe(4); // DType.int32
    expect(b.readBigUInt64LE(18)).toBe(2n); // sequences
    expect(b.readBigUInt64LE(26)).toBe(3n); // documents + the leading 0
    expect([b.readInt32LE(34), b.readInt32LE(38)]).toEqual([3, 1]);
    expect([b.readBigInt64LE(42), b.readBigInt64LE(50)]).toEqual([0n, 12n]);
    expect([b.readBigInt64LE(58), b.readBigInt64LE(66), b.readBigInt64LE(74)]).toEqual([0n, 1n, 2n]);
    expect(b.length).toBe(82);
    expect(readFileSync(`${prefix}.bin`)).toEqual(Buffer.from(new Int32Array([5, 6, 7, 100000]).buffer));
  });

  test("round trip of random documents through both read paths (in-memory and pread)", async () => {
    const prefix = join(tmp(), "rt");
    // A deterministic LCG keeps the test reproducible.
    let x = 12345;
    const rand = (n: number) => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x % n;
    };
    const docs = Array.from({ length: 300 }, () => Array.from({ length: rand(200) }, () => rand(32000)));
    const w = new IndexedDatasetWriter(prefix, { dtype: "uint16", bufferBytes: 64 });
    for (const d of docs) w.addDocument(d);
    await w.finalize();
    for (const wholeFileBytes of [Number.MAX_SAFE_INTEGER, 0]) {
      const ds = IndexedDataset.open(prefix, { wholeFileBytes });
      expect(ds.numDocuments).toBe(300);
      expect(ds.totalTokens).toBe(docs.reduce((a, d) => a + d.length, 0));
      for (const i of [0, 1, 17, 150, 299]) {
        expect(Array.from(ds.get(i))).toEqual(docs[i]);
        expect(ds.lastToken(i)).toBe(docs[i].length ? docs[i][docs[i].length - 1] : undefined);
      }
      expect(() => ds.get(300)).toThrow(RangeError);
      ds.close();
    }
  });

  test("nothing appears at PREFIX before finalize; abort leaves no files", async () => {
    const dir = tmp();
    const w = new IndexedDatasetWriter(join(dir, "a"), { dtype: "uint16" });
    w.addDocument([1, 2, 3]);
    expect(existsSync(join(dir, "a.bin"))).toBe(false);
    expect(existsSync(join(dir, "a.idx"))).toBe(false);
    w.abort();
    expect(readdirSync(dir)).toEqual([]);
  });

  test("ids that do not fit the dtype are rejected with the file and position", () => {
    const w = new IndexedDatasetWriter(join(tmp(), "big"), { dtype: "uint16" });
    expect(() => w.addDocument([1, 70000])).toThrow(
      /big\.bin: document 0 token 1 = 70000 does not fit uint16/,
    );
    expect(() => w.addDocument([-1])).toThrow(IndexedDatasetError);
    w.abort();
  });
});

describe("bad files give one-line errors naming the file", () => {
  const good = readFileSync(fixture("megatron-uint16.idx"));
  const bin = readFileSync(fixture("megatron-uint16.bin"));
  const write = (idx: Buffer, binBytes = bin) => {
    const prefix = join(tmp(), "bad");
    writeFileSync(`${prefix}.idx`, idx);
    writeFileSync(`${prefix}.bin`, binBytes);
    return prefix;
  };
  const cases: [string, () => string, RegExp][] = [
    ["bad magic", () => write(Buffer.concat([Buffer.from("XXIDIDX\0\0"), good.subarray(9)])), /bad magic/],
    [
      "version 2",
      () => {
        const b = Buffer.from(good);
        b.writeBigUInt64LE(2n, 9);
        return write(b);
      },
      /version 2/,
    ],
    [
      "float dtype",
      () => {
        const b = Buffer.from(good);
        b[17] = 7;
        return write(b);
      },
      /dtype code 7/,
    ],
    ["truncated header", () => write(good.subarray(0, 20)), /truncated header/],
    ["truncated index arrays", () => write(good.subarray(0, good.length - 8)), /expected 154 bytes/],
    ["truncated .bin", () => write(good, bin.subarray(0, 10)), /bad\.bin: truncated/],
  ];
  for (const [name, make, re] of cases) {
    test(name, () => {
      const prefix = make();
      const err = (() => {
        try {
          IndexedDataset.open(prefix);
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err).toBeInstanceOf(IndexedDatasetError);
      expect(err!.message).toMatch(re);
      expect(err!.message).toContain(prefix);
      expect(err!.message).not.toContain("\n");
    });
  }
  test("missing files", () => {
    expect(() => IndexedDataset.open(join(tmp(), "nope"))).toThrow(/nope\.idx: cannot read \(ENOENT\)/);
  });
});

test("a write past the file size limit (EFBIG, as ENOSPC) names PREFIX.bin and leaves no file", () => {
  const dir = tmp();
  const dist = pathToFileURL(join(import.meta.dirname, "..", "dist", "index.js")).href;
  const script = `import { IndexedDatasetWriter } from ${JSON.stringify(dist)};
const w = new IndexedDatasetWriter(${JSON.stringify(join(dir, "x"))}, { bufferBytes: 4096 });
try {
  for (let i = 0; i < 100; i++) w.addDocument(new Array(1000).fill(i));
  await w.finalize();
} catch (e) {
  process.stderr.write(e.message + "\\n");
  process.exit(1);
}`;
  const r = spawnSync(
    "bash",
    ["-c", 'ulimit -f 16; exec "$0" --input-type=module -e "$1"', process.execPath, script],
    { encoding: "utf8" },
  );
  expect(r.status, r.stderr).toBe(1);
  expect(r.stderr).toBe(
    `${join(dir, "x.bin")}: file too large (file system limit or the process's file size limit, ulimit -f) (EFBIG)\n`,
  );
  expect(readdirSync(dir)).toEqual([]);
});

test("finalize over an existing dataset drops the old .idx before the new .bin goes in", async () => {
  const dir = tmp();
  const prefix = join(dir, "x");
  for (const docs of [[[1, 2, 3]], [[4], [5, 6]]]) {
    const w = new IndexedDatasetWriter(prefix);
    for (const d of docs) w.addDocument(d);
    await w.finalize();
  }
  const ds = IndexedDataset.open(prefix);
  expect([Array.from(ds.get(0)), Array.from(ds.get(1))]).toEqual([[4], [5, 6]]);
  expect(readdirSync(dir).sort()).toEqual(["x.bin", "x.idx"]);
});

test("tokenRange equals the min and max over every sequence, read whole or in blocks, uint16 and int32", async () => {
  const dir = mkdtempSync(join(tmpdir(), "idx-range-"));
  for (const dtype of ["uint16", "int32"] as const) {
    const prefix = join(dir, dtype);
    const w = new IndexedDatasetWriter(prefix, { dtype });
    // ~9 MB of int32 tokens, so a 1 MiB read limit reads it in several positioned blocks
    let x = 12345;
    for (let d = 0; d < 300; d++)
      w.addDocument(
        Array.from({ length: 1 + ((d * 97) % 15000) }, () => {
          x = (x * 1103515245 + 12345) % 2147483648;
          return 3 + (x % 60000);
        }),
      );
    await w.finalize();
    for (const wholeFileBytes of [1 << 30, 1 << 20]) {
      const ds = IndexedDataset.open(prefix, { wholeFileBytes });
      let min = Number.POSITIVE_INFINITY;
      let max = -1;
      for (let i = 0; i < ds.numSequences; i++)
        for (const v of ds.get(i)) {
          min = Math.min(min, v);
          max = Math.max(max, v);
        }
      const seen: number[] = [];
      expect(ds.tokenRange((done) => seen.push(done))).toEqual({ min, max });
      expect(seen[seen.length - 1]).toBe(ds.totalTokens * (dtype === "uint16" ? 2 : 4));
      ds.close();
    }
  }
});
