import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { PileReader, PileZstdError } from "../src/index.js";
import { zstd } from "../src/zstd-binding.js";
import { makeDocs, type TestDoc, tempDir, toJsonl, writeJsonl, zstdCli, zstdList } from "./pile-files.js";

async function readAll(
  inputs: string | string[],
  opts: Partial<ConstructorParameters<typeof PileReader>[0]> = {},
) {
  const out = [];
  for await (const d of new PileReader({ inputs, subsets: "all", ...opts })) out.push(d);
  return out;
}

const strip = (docs: TestDoc[]) => docs.map((d) => ({ text: d.text, meta: d.meta }));

// Every case runs with libzstd on the reader's thread and in a decoder thread.
for (const decodeInThread of [false, true]) {
  const read = (inputs: string | string[]) => readAll(inputs, { decodeInThread });

  describe(`zstd containers real Pile shards use (${decodeInThread ? "decoder thread" : "inline decoder"})`, () => {
    let dir: string;
    let docsA: TestDoc[];
    let docsB: TestDoc[];
    beforeAll(() => {
      dir = tempDir();
      docsA = makeDocs(700, 1);
      docsB = makeDocs(500, 2);
      writeJsonl(join(dir, "a.jsonl"), docsA);
      writeJsonl(join(dir, "b.jsonl"), docsB);
      zstdCli(join(dir, "a.jsonl"), join(dir, "a.jsonl.zst"));
      zstdCli(join(dir, "b.jsonl"), join(dir, "b.jsonl.zst"), ["-19"]);
      zstdCli(join(dir, "a.jsonl"), join(dir, "long.jsonl.zst"), ["--long=31"], { stdin: true });
      writeFileSync(
        join(dir, "multi.jsonl.zst"),
        Buffer.concat([readFileSync(join(dir, "a.jsonl.zst")), readFileSync(join(dir, "b.jsonl.zst"))]),
      );
    });

    test("plain .jsonl and a single-frame .jsonl.zst give the same documents, in order", async () => {
      const plain = await read(join(dir, "a.jsonl"));
      const zst = await read(join(dir, "a.jsonl.zst"));
      expect(plain.map((d) => ({ text: d.text, meta: d.meta }))).toEqual(strip(docsA));
      expect(zst.map((d) => ({ text: d.text, meta: d.meta }))).toEqual(strip(docsA));
    });

    test("source line and offset point at the line in the uncompressed file", async () => {
      const raw = Buffer.from(toJsonl(docsA));
      const docs = await read(join(dir, "a.jsonl.zst"));
      for (const i of [0, 1, 350, 699]) {
        const { line, offset } = docs[i].source;
        expect(line).toBe(i + 1);
        const end = raw.indexOf(0x0a, offset);
        expect(JSON.parse(raw.subarray(offset, end).toString("utf8")).text).toBe(docsA[i].text);
      }
    });

    test("a --long=31 frame without content size (2 GiB window) decodes", async () => {
      const path = join(dir, "long.jsonl.zst");
      const header = readFileSync(path);
      expect(zstd.getFrameContentSize(header)).toBeNull();
      expect(zstdList(path)).toMatch(/Window Size: 2\.00 GiB/);
      // The reference decoder itself refuses this file unless told to allow the window.
      expect(() => execFileSync("zstd", ["-dc", "-q", path], { stdio: "pipe" })).toThrow();
      const docs = await read(path);
      expect(docs.map((d) => d.text)).toEqual(docsA.map((d) => d.text));
    });

    test("a multi-frame file made by cat a.zst b.zst yields both frames' lines", async () => {
      const path = join(dir, "multi.jsonl.zst");
      expect(zstdList(path)).toMatch(/Zstandard Frames: 2/);
      const docs = await read(path);
      expect(docs.map((d) => d.text)).toEqual([...docsA, ...docsB].map((d) => d.text));
      expect(docs[700].source.line).toBe(701);
    });

    test("skippable frames (e.g. a seekable-format seek table) between and after frames are passed over", async () => {
      // Skippable frame: magic 0x184D2A5? little-endian, 4-byte length, then that many opaque bytes.
      const skippable = (n: number) => {
        const b = Buffer.alloc(8 + n, 0xab);
        b.writeUInt32LE(0x184d2a5e, 0);
        b.writeUInt32LE(n, 4);
        return b;
      };
      const path = join(dir, "skippable.jsonl.zst");
      writeFileSync(
        path,
        Buffer.concat([
          readFileSync(join(dir, "a.jsonl.zst")),
          skippable(100),
          readFileSync(join(dir, "b.jsonl.zst")),
          skippable(17),
        ]),
      );
      // The reference decoder agrees the file is valid.
      expect(execFileSync("zstd", ["-dc", path]).toString("utf8")).toBe(toJsonl([...docsA, ...docsB]));
      const docs = await read(path);
      expect(docs.map((d) => d.text)).toEqual([...docsA, ...docsB].map((d) => d.text));
    });

    test("a multi-byte character split across decoder chunks, and a line longer than the buffer", async () => {
      // 4-byte emoji from byte 1 on, so some lands across every 1 MiB chunk boundary; one 5 MiB line.
      const big: TestDoc = { text: `x${"🧬".repeat(1_300_000)}`, meta: { pile_set_name: "PubMed Central" } };
      const docs = [makeDocs(3)[0], big, makeDocs(3)[1]];
      const path = writeJsonl(join(dir, "big.jsonl"), docs);
      zstdCli(path, `${path}.zst`);
      for (const p of [path, `${path}.zst`]) {
        const got = await read(p);
        expect(got.map((d) => d.text)).toEqual(docs.map((d) => d.text));
      }
    });

    test("a last line without newline, blank lines and CRLF endings", async () => {
      const path = join(dir, "odd.jsonl");
      writeFileSync(
        path,
        '{"text": "one", "meta": {"pile_set_name": "Github"}}\r\n\n   \n{"text": "two", "meta": {"pile_set_name": "Github"}}',
      );
      const r = new PileReader({ inputs: path, subsets: "all" });
      const got = [];
      for await (const d of r) got.push(d);
      expect(got.map((d) => [d.text, d.source.line])).toEqual([
        ["one", 1],
        ["two", 4],
      ]);
      expect(r.stats().skipped.blankLines).toBe(2);
    });

    test("a truncated stream fails naming the file and a byte offset", async () => {
      const full = readFileSync(join(dir, "b.jsonl.zst"));
      const path = join(dir, "truncated.jsonl.zst");
      writeFileSync(path, full.subarray(0, Math.floor(full.length / 2)));
      const err = await read(path).catch((e) => e);
      expect(err).toBeInstanceOf(PileZstdError);
      expect(err.file).toBe(path);
      expect(err.offset).toBe(Math.floor(full.length / 2));
      expect(err.message).toMatch(/truncated\.jsonl\.zst: zstd stream is truncated.*at compressed byte \d+/);
    });

    test("corrupt bytes inside a frame fail naming the file and an offset inside the file", async () => {
      const full = Buffer.from(readFileSync(join(dir, "a.jsonl.zst")));
      for (let i = 2000; i < 2400; i++) full[i] ^= 0x5a;
      const path = join(dir, "corrupt.jsonl.zst");
      writeFileSync(path, full);
      const err = await read(path).catch((e) => e);
      expect(err).toBeInstanceOf(PileZstdError);
      expect(err.offset).toBeGreaterThanOrEqual(0);
      expect(err.offset).toBeLessThanOrEqual(full.length);
      expect(err.message).toContain("corrupt.jsonl.zst: zstd stream is corrupt");
    });

    test("a file that is not zstd at all fails at byte 0", async () => {
      const path = join(dir, "notzstd.jsonl.zst");
      writeFileSync(path, toJsonl(docsA.slice(0, 3)));
      const err = await read(path).catch((e) => e);
      expect(err).toBeInstanceOf(PileZstdError);
      expect(err.offset).toBe(0);
    });
  });
}
