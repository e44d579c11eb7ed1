import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  INDEX_FILE,
  openSafetensors,
  SafetensorsCheckpoint,
  SafetensorsError,
  SINGLE_FILE,
  type TensorSource,
  writeSafetensors,
  writeSafetensorsCheckpoint,
} from "../src/index";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "safetensors-index-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const TENSORS = new Map(
  ["a", "b", "c", "d", "e"].map((name, i) => [
    name,
    { shape: [10, i + 1], data: Float32Array.from({ length: 10 * (i + 1) }, (_, j) => i * 1000 + j) },
  ]),
);
const SOURCE: TensorSource = {
  entries: [...TENSORS].map(([name, t]) => ({ name, shape: t.shape })),
  data: (name) => TENSORS.get(name)!.data,
};

function newDir(name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  return dir;
}

function expectAll(ckpt: SafetensorsCheckpoint): void {
  expect([...ckpt.weightMap.keys()].sort()).toEqual([...TENSORS.keys()]);
  for (const [name, t] of TENSORS) {
    expect(ckpt.read(name)).toEqual(t);
    expect(ckpt.byteLength(name)).toBe(4 * t.data.length);
    const into = new Float32Array(t.data.length);
    ckpt.readFloat32Into(name, into);
    expect(into).toEqual(t.data);
  }
}

describe("Hugging Face checkpoint directories", () => {
  test("one model.safetensors below maxShardBytes, with format: pt", async () => {
    const dir = newDir("single");
    expect(await writeSafetensorsCheckpoint(dir, SOURCE)).toEqual([SINGLE_FILE]);
    const f = openSafetensors(path.join(dir, SINGLE_FILE));
    expect(f.metadata).toEqual({ format: "pt" });
    f.close();
    const ckpt = new SafetensorsCheckpoint(dir);
    expectAll(ckpt);
    expect(ckpt.fileOf("c")).toBe(path.join(dir, SINGLE_FILE));
    ckpt.close();
  });

  test("shards named model-0000i-of-0000n.safetensors and an index with total_size and weight_map", async () => {
    const dir = newDir("sharded");
    // 40, 80, 120, 160, 200 bytes; at most 200 per shard: [a b], [c], [d], [e]
    const files = await writeSafetensorsCheckpoint(dir, SOURCE, { maxShardBytes: 200 });
    const shard = (i: number) => `model-0000${i}-of-00004.safetensors`;
    expect(files).toEqual([shard(1), shard(2), shard(3), shard(4), INDEX_FILE]);
    expect(fs.readdirSync(dir).sort()).toEqual([...files].sort());
    expect(JSON.parse(fs.readFileSync(path.join(dir, INDEX_FILE), "utf8"))).toEqual({
      metadata: { total_size: 600 },
      weight_map: { a: shard(1), b: shard(1), c: shard(2), d: shard(3), e: shard(4) },
    });
    const ckpt = new SafetensorsCheckpoint(dir);
    expectAll(ckpt);
    expect(ckpt.fileOf("d")).toBe(path.join(dir, shard(3)));
    expect(ckpt.info("b").dtype).toBe("F32");
    expect(() => ckpt.read("z")).toThrow(`${dir}: no tensor "z"`);
    ckpt.close();
    // BF16 halves the bytes: the same limit now fits more per shard.
    const bf16 = newDir("sharded-bf16");
    expect(
      await writeSafetensorsCheckpoint(bf16, SOURCE, { maxShardBytes: 200, dtype: "BF16" }),
    ).toHaveLength(3);
  });

  test("a bad index or directory is one SafetensorsError naming the file", async () => {
    const dir = newDir("bad");
    await writeSafetensorsCheckpoint(dir, SOURCE, { maxShardBytes: 200 });
    const indexPath = path.join(dir, INDEX_FILE);
    const index = JSON.parse(fs.readFileSync(indexPath, "utf8"));
    const cases: [string, string | RegExp][] = [
      ["{", `${indexPath}: not valid JSON`],
      ["{}", `${indexPath}: missing "weight_map"`],
      [
        JSON.stringify({ weight_map: { ...index.weight_map, a: "../x.safetensors" } }),
        `${indexPath}: "weight_map.a" must be a file name in the same directory`,
      ],
      [
        JSON.stringify({ weight_map: { ...index.weight_map, b: "model-00002-of-00004.safetensors" } }),
        `${path.join(dir, "model-00001-of-00004.safetensors")}: tensor "b" is not listed for this file`,
      ],
      [
        JSON.stringify({ weight_map: { ...index.weight_map, f: "model-00004-of-00004.safetensors" } }),
        `${path.join(dir, "model-00004-of-00004.safetensors")}: missing tensor "f" listed in ${INDEX_FILE}`,
      ],
    ];
    for (const [text, message] of cases) {
      fs.writeFileSync(indexPath, text);
      expect(() => new SafetensorsCheckpoint(dir)).toThrow(SafetensorsError);
      expect(() => new SafetensorsCheckpoint(dir)).toThrow(message);
    }
    const empty = newDir("empty");
    expect(() => new SafetensorsCheckpoint(empty)).toThrow(
      `${empty}: neither ${SINGLE_FILE} nor ${INDEX_FILE} found`,
    );
    // a single file that is not safetensors: the reader's error, naming it
    fs.writeFileSync(path.join(empty, SINGLE_FILE), "abc");
    expect(() => new SafetensorsCheckpoint(empty)).toThrow(`${path.join(empty, SINGLE_FILE)}: 3 bytes`);
  });

  test("writeSafetensors and the checkpoint writer make the same bytes for the same tensors", async () => {
    const dir = newDir("same");
    await writeSafetensorsCheckpoint(dir, SOURCE);
    const single = path.join(root, "same.safetensors");
    await writeSafetensors(single, TENSORS, { metadata: { format: "pt" } });
    expect(fs.readFileSync(single).equals(fs.readFileSync(path.join(dir, SINGLE_FILE)))).toBe(true);
  });
});
