import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  encodeSafetensorsHeader,
  float32ToBf16Bits,
  openSafetensors,
  readSafetensors,
  SafetensorsError,
  SafetensorsFile,
  writeSafetensors,
  writeSafetensorsFrom,
} from "../src/index";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "safetensors-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(root, `${prefix}-`));
}

/** A safetensors file assembled byte by byte: u64 LE length, JSON header, data. */
function handBuilt(header: object | string, data: number[]): Buffer {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, Buffer.from(data)]);
}

function writeTmp(bytes: Buffer): string {
  const file = path.join(tmpDir("st"), "x.safetensors");
  fs.writeFileSync(file, bytes);
  return file;
}

describe("safetensors bytes", () => {
  test("reads a hand-built file: F32, BF16 and F16 tensors, metadata", () => {
    const bytes = handBuilt(
      {
        __metadata__: { format: "pt" },
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "BF16", shape: [2], data_offsets: [8, 12] },
        c: { dtype: "F16", shape: [1, 2], data_offsets: [12, 16] },
      },
      [
        // 1.5f = 0x3fc00000, -2f = 0xc0000000 (little endian)
        0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0,
        // bf16 1.0 = 0x3f80, -0.5 = 0xbf00
        0x80, 0x3f, 0x00, 0xbf,
        // f16 1.0 = 0x3c00, 65504 = 0x7bff
        0x00, 0x3c, 0xff, 0x7b,
      ],
    );
    const file = writeTmp(bytes);
    const f = openSafetensors(file);
    expect(f.metadata).toEqual({ format: "pt" });
    expect(f.read("a")).toEqual({ shape: [2], data: Float32Array.from([1.5, -2]) });
    expect(Array.from(f.read("b").data)).toEqual([1, -0.5]);
    expect(f.read("c").shape).toEqual([1, 2]);
    expect(Array.from(f.read("c").data)).toEqual([1, 65504]);
    expect(() => f.read("d")).toThrow(`${file}: no tensor "d"`);
    f.close();
    expect(() => f.read("a")).toThrow(`${file}: file is closed`);
  });

  test.each([
    [
      "header length past EOF",
      () => {
        const b = handBuilt({}, []);
        b.writeBigUInt64LE(1000n);
        return b;
      },
      /runs past the end/,
    ],
    [
      "header length above the limit",
      () => {
        const b = handBuilt({}, []);
        b.writeBigUInt64LE(2n ** 40n);
        return b;
      },
      /exceeds the 100000000-byte limit/,
    ],
    ["not JSON", () => handBuilt("{nope", []), /not valid UTF-8 JSON/],
    ["not an object", () => handBuilt("[1]", []), /header must be a JSON object/],
    [
      "unknown dtype",
      () => handBuilt({ a: { dtype: "Q4", shape: [1], data_offsets: [0, 1] } }, [0]),
      /tensor "a": unknown dtype "Q4"/,
    ],
    [
      "negative dimension",
      () => handBuilt({ a: { dtype: "U8", shape: [-1], data_offsets: [0, 1] } }, [0]),
      /tensor "a": "shape" must be a list of non-negative integers/,
    ],
    [
      "reversed offsets",
      () => handBuilt({ a: { dtype: "U8", shape: [1], data_offsets: [1, 0] } }, [0]),
      /tensor "a": "data_offsets" must be \[begin, end\]/,
    ],
    [
      "shape × dtype ≠ span",
      () => handBuilt({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, [0, 0, 0, 0, 0, 0, 0, 0]),
      /tensor "a": shape \[3\] × F32 is 12 bytes but data_offsets span 8/,
    ],
    [
      "overlap",
      () =>
        handBuilt(
          {
            a: { dtype: "U8", shape: [2], data_offsets: [0, 2] },
            b: { dtype: "U8", shape: [2], data_offsets: [1, 3] },
          },
          [0, 0, 0],
        ),
      /overlap/,
    ],
    [
      "gap",
      () =>
        handBuilt(
          {
            a: { dtype: "U8", shape: [1], data_offsets: [0, 1] },
            b: { dtype: "U8", shape: [1], data_offsets: [2, 3] },
          },
          [0, 0, 0],
        ),
      /gap/,
    ],
    [
      "trailing bytes",
      () => handBuilt({ a: { dtype: "U8", shape: [1], data_offsets: [0, 1] } }, [0, 0]),
      /cover 1 bytes but the data section has 2/,
    ],
    ["bad metadata", () => handBuilt({ __metadata__: { n: 3 } }, []), /"__metadata__.n" must be a string/],
    ["shorter than 8 bytes", () => Buffer.from([1, 2, 3]), /3 bytes, too short for a safetensors file/],
  ])("rejects %s with a SafetensorsError naming the file", (_, make, message) => {
    const file = writeTmp(make());
    expect(() => openSafetensors(file)).toThrow(SafetensorsError);
    expect(() => openSafetensors(file)).toThrow(message);
    expect(() => openSafetensors(file)).toThrow(file);
  });

  test("a missing file is a SafetensorsError naming it and the errno code", () => {
    const file = path.join(root, "absent.safetensors");
    expect(() => openSafetensors(file)).toThrow(SafetensorsError);
    expect(() => openSafetensors(file)).toThrow(`${file}: cannot open (ENOENT)`);
  });

  test("F32 and BF16 round trip; BF16 rounds to nearest even", async () => {
    const dir = tmpDir("rt");
    const data = Float32Array.from([0, -0, 1, Math.PI, -1e-20, 65504, 1e30, Number.NaN]);
    const tensors = new Map([["w", { shape: [2, 4], data }]]);
    await writeSafetensors(path.join(dir, "f32.safetensors"), tensors, { metadata: { k: "v" } });
    const back = readSafetensors(path.join(dir, "f32.safetensors"));
    expect(Array.from((back.get("w") as { data: Float32Array }).data)).toEqual(Array.from(data));
    await writeSafetensors(path.join(dir, "bf16.safetensors"), tensors, { dtype: "BF16" });
    const bf16 = openSafetensors(path.join(dir, "bf16.safetensors"));
    expect(bf16.tensors.get("w")?.dtype).toBe("BF16");
    bf16.close();
    // Ties: 1 + 2^-8 lies halfway between bf16 1 and 1 + 2^-7 → even (1); 1 + 3·2^-8 → 1 + 2^-6.
    const bits = float32ToBf16Bits(Float32Array.from([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20]));
    expect(Array.from(bits)).toEqual([0x3f80, 0x3f82, 0x3f81]);
    // no temp files left behind
    expect(fs.readdirSync(dir).sort()).toEqual(["bf16.safetensors", "f32.safetensors"]);
  });
});

describe("writing", () => {
  test("the header: __metadata__ first, tensors end to end in the given order, padded to 8 bytes", () => {
    const bytes = encodeSafetensorsHeader(
      "h.safetensors",
      [
        { name: "b", shape: [3] },
        { name: "a", shape: [2, 1] },
      ],
      { metadata: { m: "1" } },
    );
    const n = Number(bytes.readBigUInt64LE(0));
    expect(bytes.length).toBe(8 + n);
    expect(n % 8).toBe(0);
    const json = bytes.subarray(8).toString("utf8");
    expect(json.trimEnd()).toBe(
      '{"__metadata__":{"m":"1"},"b":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"a":{"dtype":"F32","shape":[2,1],"data_offsets":[12,20]}}',
    );
    expect(json.slice(json.trimEnd().length)).toMatch(/^ *$/);
  });

  test.each([
    [[{ name: "__metadata__", shape: [1] }], {}, /a tensor cannot be named __metadata__/],
    [
      [
        { name: "x", shape: [1] },
        { name: "x", shape: [2] },
      ],
      {},
      /tensor "x" is given twice/,
    ],
    [[{ name: "x", shape: [1.5] }], {}, /tensor "x": shape \[1.5\] is not a list of non-negative integers/],
    [[], { metadata: { n: 3 as unknown as string } }, /metadata "n" must be a string/],
    [[], { dtype: "F16" as "F32" }, /cannot write dtype F16/],
  ])("refuses to encode a header no reader would accept (%#)", (entries, opts, message) => {
    expect(() => encodeSafetensorsHeader("bad.safetensors", entries, opts)).toThrow(SafetensorsError);
    expect(() => encodeSafetensorsHeader("bad.safetensors", entries, opts)).toThrow(message);
    expect(() => encodeSafetensorsHeader("bad.safetensors", entries, opts)).toThrow("bad.safetensors: ");
  });

  test("F32 data goes out from the caller's views as they are; async sources are awaited in order", async () => {
    const dir = tmpDir("views");
    const big = Float32Array.from({ length: 32 }, (_, i) => i);
    const file = path.join(dir, "v.safetensors");
    const asked: string[] = [];
    await writeSafetensorsFrom(file, {
      entries: [
        { name: "p", shape: [4, 4] },
        { name: "q", shape: [9] },
      ],
      data: async (name) => {
        asked.push(name);
        return name === "p" ? big.subarray(3, 19) : big.subarray(20, 29);
      },
    });
    expect(asked).toEqual(["p", "q"]);
    const back = readSafetensors(file);
    expect(back.get("p")).toEqual({ shape: [4, 4], data: big.slice(3, 19) });
    expect(back.get("q")).toEqual({ shape: [9], data: big.slice(20, 29) });
  });

  test("a wrong tensor leaves the old file and no temp file; an I/O error names the file", async () => {
    const dir = tmpDir("fail");
    const file = path.join(dir, "w.safetensors");
    await writeSafetensors(file, new Map([["x", { shape: [2], data: Float32Array.of(1, 2) }]]));
    const before = fs.readFileSync(file);
    await expect(
      writeSafetensors(file, new Map([["x", { shape: [3], data: Float32Array.of(1, 2) }]])),
    ).rejects.toThrow(`${file}: tensor "x" has 2 values, shape [3] needs 3`);
    await expect(
      writeSafetensors(
        file,
        new Map([["x", { shape: [2], data: Float64Array.of(1, 2) as unknown as Float32Array }]]),
      ),
    ).rejects.toThrow(`${file}: tensor "x" is not a Float32Array`);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(["w.safetensors"]);
    const missing = path.join(dir, "no-such-dir", "w.safetensors");
    const err = await writeSafetensors(missing, new Map()).catch((e) => e);
    expect(err).toMatchObject({ code: "ENOENT", message: `${missing}: no such file or directory (ENOENT)` });
  });
});

describe("streamed reads (readInto / readFloat32Into)", () => {
  test("in many chunks, F32 and BF16, equal read()", async () => {
    const dir = tmpDir("chunks");
    const file = path.join(dir, "chunks.safetensors");
    const n = 1001;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(i) * 3.7 + (i % 7) * 1e-3;
    const f32 = path.join(dir, "chunks-f32.safetensors");
    await writeSafetensors(f32, new Map([["x", { shape: [n], data }]]));
    await writeSafetensors(file, new Map([["x", { shape: [7, 143], data }]]), { dtype: "BF16" });
    for (const [p, bytesPer] of [
      [f32, 4],
      [file, 2],
    ] as const) {
      const whole = new SafetensorsFile(p).read("x").data;
      for (const chunkBytes of [2, 6, 64, 1 << 20]) {
        const f = new SafetensorsFile(p, { chunkBytes });
        const out = new Float32Array(n);
        const seen: number[] = [];
        f.readFloat32Into("x", out, (b) => seen.push(b));
        expect(out).toEqual(whole);
        expect(seen.reduce((a, b) => a + b, 0)).toBe(n * bytesPer);
        expect(Math.max(...seen)).toBeLessThanOrEqual(chunkBytes);
        const raw = new Uint8Array(n * bytesPer);
        f.readInto("x", raw);
        expect(Buffer.from(raw).equals(Buffer.from(f.readBytes("x")))).toBe(true);
        expect(() => f.readInto("x", new Uint8Array(3))).toThrow(/destination 3/);
        f.close();
      }
    }
    expect(() => new SafetensorsFile(f32, { chunkBytes: 3 })).toThrow(/chunkBytes/);
  });

  test("a file cut after it was opened: the read names the tensor", async () => {
    const dir = tmpDir("cut");
    const file = path.join(dir, "cut.safetensors");
    await writeSafetensors(file, new Map([["x", { shape: [64], data: new Float32Array(64) }]]));
    const f = openSafetensors(file);
    fs.truncateSync(file, fs.statSync(file).size - 8);
    expect(() => f.read("x")).toThrow(`${file}: tensor "x" is truncated`);
    f.close();
  });
});
