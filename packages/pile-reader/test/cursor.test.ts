import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import {
  type PileCursor,
  PileCursorError,
  type PileDocument,
  PileReader,
  type PileReaderOptions,
} from "../src/index.js";
import { makeDocs, type TestDoc, tempDir, writeJsonl, zstdCli } from "./pile-files.js";

async function take(reader: PileReader, n: number): Promise<PileDocument[]> {
  const out: PileDocument[] = [];
  if (n === 0) return out;
  for await (const d of reader) {
    out.push(d);
    if (out.length === n) break;
  }
  return out;
}

async function rest(reader: PileReader): Promise<PileDocument[]> {
  const out: PileDocument[] = [];
  for await (const d of reader) out.push(d);
  return out;
}

const key = (d: PileDocument) => `${d.source.file}:${d.source.line}`;

describe("cursor: a read resumes exactly where it stopped", () => {
  let dir: string;
  let inputs: string[];
  let all: TestDoc[];
  beforeAll(() => {
    dir = tempDir();
    const a = makeDocs(300, 21);
    const b = makeDocs(200, 22);
    const c = makeDocs(150, 23);
    writeJsonl(join(dir, "a.jsonl"), a);
    writeJsonl(join(dir, "b.jsonl"), b);
    writeJsonl(join(dir, "c.jsonl"), c);
    zstdCli(join(dir, "a.jsonl"), join(dir, "a.zst"));
    zstdCli(join(dir, "b.jsonl"), join(dir, "b.zst"), ["--long=31"], { stdin: true });
    // 1: multi-frame (a then b); 2: plain jsonl; 3: single frame without content size.
    writeFileSync(
      join(dir, "1.jsonl.zst"),
      Buffer.concat([readFileSync(join(dir, "a.zst")), readFileSync(join(dir, "b.zst"))]),
    );
    zstdCli(join(dir, "c.jsonl"), join(dir, "3.jsonl.zst"), [], { stdin: true });
    writeJsonl(join(dir, "2.jsonl"), c);
    inputs = [join(dir, "1.jsonl.zst"), join(dir, "2.jsonl"), join(dir, "3.jsonl.zst")];
    all = [...a, ...b, ...c, ...c];
  });

  const configs: [string, Partial<PileReaderOptions>][] = [
    ["all subsets", { subsets: "all" }],
    ["PubMed only", {}],
    ["rank 1 of 3", { subsets: "all", rank: 1, worldSize: 3 }],
    ["skip bad lines", { onBadLine: "skip" }],
    ["decoder thread", { subsets: "all", decodeInThread: true }],
  ];
  for (const [name, extra] of configs) {
    test(`${name}: N docs + resumed reader = one uninterrupted read, stats included`, async () => {
      const opts = { inputs, ...extra };
      const full = await rest(new PileReader(opts));
      const fullReader = new PileReader(opts);
      await rest(fullReader);
      expect(full.length).toBeGreaterThan(50);
      // Decoder threads take a while to start on a busy machine: fewer cut points there.
      const cuts = extra.decodeInThread
        ? [37, Math.floor(full.length / 2), full.length]
        : [0, 1, 37, Math.floor(full.length / 2), full.length - 1, full.length];
      for (const n of cuts) {
        const first = new PileReader(opts);
        const head = await take(first, n);
        const state = JSON.parse(JSON.stringify(first.stateDict()));
        const second = new PileReader({ ...opts, cursor: state.cursor as PileCursor });
        second.loadStateDict(state);
        const tail = await rest(second);
        expect([...head, ...tail].map(key)).toEqual(full.map(key));
        expect([...head, ...tail].map((d) => d.text)).toEqual(full.map((d) => d.text));
        expect(second.stats()).toEqual(fullReader.stats());
      }
    });
  }

  test("in a multi-frame file the cursor restarts at the later frame, not the file start", async () => {
    const r = new PileReader({ inputs, subsets: "all" });
    await take(r, 250);
    expect(r.cursor().restart).toEqual({ compressed: 0, uncompressed: 0 });
    // Past the first frame (300 docs of a): restart at the byte where b.zst begins.
    const r2 = new PileReader({ inputs, subsets: "all" });
    await take(r2, 320);
    const c = r2.cursor();
    expect(c.restart.compressed).toBe(statSync(join(dir, "a.zst")).size);
    expect(c.restart.uncompressed).toBe(statSync(join(dir, "a.jsonl")).size);
    expect(c.line).toBe(320);
  });

  test("the docs a resumed reader yields match the source lines of the uninterrupted read", async () => {
    const r = new PileReader({ inputs, subsets: "all" });
    await take(r, 510);
    const c = r.cursor();
    expect(c.fileIndex).toBe(1);
    expect(c.line).toBe(10);
    const [next] = await take(new PileReader({ inputs, subsets: "all", cursor: c }), 1);
    expect(next.text).toBe(all[510].text);
    expect(next.source.line).toBe(11);
  });

  test("a cursor after a last line without newline resumes at the next file", async () => {
    const noNl = join(dir, "no-newline.jsonl");
    writeFileSync(
      noNl,
      '{"text": "x", "meta": {"pile_set_name": "Github"}}\n{"text": "y", "meta": {"pile_set_name": "Github"}}',
    );
    const noNlZst = zstdCli(noNl, join(dir, "no-newline.jsonl.zst"));
    for (const first of [noNl, noNlZst]) {
      const opts = { inputs: [first, join(dir, "c.jsonl")], subsets: "all" as const };
      const r = new PileReader(opts);
      const head = await take(r, 2);
      expect(head.map((d) => d.text)).toEqual(["x", "y"]);
      const tail = await rest(new PileReader({ ...opts, cursor: r.cursor() }));
      expect(tail.map((d) => d.text)).toEqual(all.slice(500, 650).map((d) => d.text));
    }
  });

  test("a cursor for other inputs is refused", async () => {
    const r = new PileReader({ inputs, subsets: "all" });
    await take(r, 400);
    const other = new PileReader({ inputs: inputs.slice(1), cursor: r.cursor() });
    await expect(rest(other)).rejects.toThrow(PileCursorError);
    // A file that shrank since the cursor was taken.
    const beyond = { ...r.cursor(), offset: 10 ** 9 };
    await expect(rest(new PileReader({ inputs, subsets: "all", cursor: beyond }))).rejects.toThrow(
      /1\.jsonl\.zst: the cursor's offset 1000000000 is past the end/,
    );
  });
});
