import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, test } from "vitest";
import { TokenizerModelError, tokenizeDocuments } from "../src/index";

const fixture = (name: string) => join(import.meta.dirname, "fixtures", name);
const lines = readFileSync(fixture("golden-lines.txt"), "utf8").split("\n").slice(0, -1);
const golden = readFileSync(fixture("golden-llama-ids.txt"), "utf8")
  .split("\n")
  .slice(0, -1)
  .map((l) => (l === "" ? [] : l.split(" ").map(Number)));

async function collect(it: AsyncIterable<Int32Array>): Promise<number[][]> {
  const out: number[][] = [];
  for await (const ids of it) out.push(Array.from(ids));
  return out;
}

async function* slowly(xs: string[]): AsyncGenerator<string> {
  for (const x of xs) {
    yield x;
    if (x.length % 7 === 0) await new Promise((r) => setImmediate(r));
  }
}

describe("tokenizeDocuments", () => {
  test("2 workers, small batches: C++ ids, in input order, with BOS/EOS", async () => {
    const got = await collect(
      tokenizeDocuments(slowly(lines), { workers: 2, batchDocs: 5, bos: true, appendEos: true }),
    );
    expect(got.length).toBe(lines.length);
    got.forEach((ids, i) => {
      expect(ids, `line ${i + 1}`).toEqual([1, ...golden[i], 2]);
    });
  });

  test("on the calling thread (workers: 0) and from a plain array", async () => {
    const got = await collect(tokenizeDocuments(lines.slice(40, 60), { workers: 0 }));
    expect(got).toEqual(golden.slice(40, 60));
  });

  test("another model by path (the tiny spm_train model)", async () => {
    const tiny = readFileSync(fixture("golden-tiny-ids.txt"), "utf8").split("\n");
    const got = await collect(
      tokenizeDocuments(lines.slice(0, 50), { workers: 1, modelPath: fixture("tiny-bpe.model") }),
    );
    got.forEach((ids, i) => {
      expect(ids.join(" ")).toBe(tiny[i]);
    });
  });

  test("a corrupt model fails with TokenizerModelError naming the file", async () => {
    const bad = join(mkdtempSync(join(tmpdir(), "tokdoc-")), "corrupt.model");
    writeFileSync(bad, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]));
    const err = await collect(tokenizeDocuments(["a", "b"], { workers: 1, modelPath: bad })).catch((e) => e);
    expect(err).toBeInstanceOf(TokenizerModelError);
    expect(err.message).toContain("corrupt.model");
  });

  test("stopping early terminates the workers (the loop returns)", async () => {
    let n = 0;
    for await (const _ of tokenizeDocuments(lines, { workers: 2, batchDocs: 3 })) if (++n === 4) break;
    expect(n).toBe(4);
  });

  test("an abandoned iterator does not keep the process alive (idle workers are unref'd)", () => {
    const dist = pathToFileURL(join(import.meta.dirname, "..", "dist", "index.js")).href;
    const code = `import { tokenizeDocuments } from ${JSON.stringify(dist)};
      const it = tokenizeDocuments(["Hello world", "b", "c"], { workers: 1, batchDocs: 1 });
      console.log(Array.from((await it.next()).value).join(","));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe("15043,3186");
  });
});
