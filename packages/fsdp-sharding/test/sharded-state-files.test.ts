import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  readShardedStateFile,
  readShardedStateFiles,
  ShardedDataParallel,
  type ShardedState,
  ShardingError,
  SoloGroup,
  shardedStateFileName,
  type UnitSpec,
  writeShardedStateFile,
} from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "fsdp-state-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const UNITS: UnitSpec[] = [
  { name: "embed", params: [{ name: "embed.weight", shape: [3, 5] }] },
  {
    name: "layers.0",
    params: [
      { name: "w", shape: [2, 3] },
      { name: "b", shape: [3] },
    ],
  },
];

/** Rank `rank` of `size` ranks that never communicate: enough to lay out shards. */
function layoutGroup(size: number, rank: number) {
  return Object.assign(Object.create(SoloGroup.prototype), new SoloGroup(rank), {
    size,
    rank,
    members: Array.from({ length: size }, (_, i) => i),
  });
}

const FULL = new Map([
  ["embed.weight", Float32Array.from({ length: 15 }, (_, i) => i + 0.5)],
  ["w", Float32Array.from({ length: 6 }, (_, i) => -i)],
  ["b", Float32Array.from({ length: 3 }, (_, i) => 100 + i)],
]);

/** Rank `rank` of a grad-op world of `size`, with an `exp_avg` of twice the parameters. */
function rankState(size: number, rank: number): ShardedState {
  const sdp = new ShardedDataParallel({ units: UNITS, strategy: "grad-op", group: layoutGroup(size, rank) });
  sdp.initParameters(FULL);
  const expAvg = new Map(sdp.parameterShards().map((s) => [s.unit, s.param.map((x) => 2 * x)]));
  return sdp.shardedStateDict({ exp_avg: expAvg });
}

describe("one rank's ShardedState as a safetensors file", () => {
  test("reads back into the same state, with the caller's metadata", async () => {
    const state = rankState(2, 1);
    const file = join(dir, shardedStateFileName(1, 2));
    expect(shardedStateFileName(1, 2)).toBe("rank-00001-of-00002.safetensors");
    await writeShardedStateFile(file, state, { metadata: { loop: '{"step":3}' } });
    const back = readShardedStateFile(file);
    expect(back.metadata).toEqual({ loop: '{"step":3}' });
    expect(back.state).toEqual(state);
    expect(Object.keys(back.state.tensors)).toEqual(Object.keys(state.tensors));
    expect(readdirSync(dir).filter((f) => f.includes(".tmp"))).toEqual([]);
  });

  test("layout: F32 1-D tensors `<unit>::<field>` in the state's order, header in `sharded_state`", async () => {
    const state = rankState(2, 0);
    const file = join(dir, "layout.safetensors");
    await writeShardedStateFile(file, state, { metadata: { loop: "{}" } });
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8"));
    const { tensors, ...info } = state;
    expect(Object.keys(header)).toEqual(["__metadata__", ...Object.keys(tensors)]);
    expect(Object.keys(header).slice(1)).toEqual([
      "embed::param",
      "embed::exp_avg",
      "layers.0::param",
      "layers.0::exp_avg",
    ]);
    expect(header.__metadata__).toEqual({ sharded_state: JSON.stringify(info), loop: "{}" });
    let off = 0;
    for (const [name, t] of Object.entries(tensors)) {
      expect(header[name]).toEqual({
        dtype: "F32",
        shape: [t.length],
        data_offsets: [off, off + 4 * t.length],
      });
      const raw = bytes.subarray(8 + n + off, 8 + n + off + 4 * t.length);
      expect(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))).toEqual(t);
      off += 4 * t.length;
    }
    expect(bytes.length).toBe(8 + n + off);
  });

  test("writes the caller's views as they are (subarrays of a larger buffer)", async () => {
    const big = Float32Array.from({ length: 32 }, (_, i) => i);
    const state: ShardedState = {
      ...rankState(1, 0),
      tensors: { "embed::param": big.subarray(3, 19), "layers.0::param": big.subarray(20, 29) },
    };
    const file = join(dir, "views.safetensors");
    await writeShardedStateFile(file, state);
    expect(readShardedStateFile(file).state.tensors).toEqual({
      "embed::param": big.slice(3, 19),
      "layers.0::param": big.slice(20, 29),
    });
  });

  test("shards of one world size reload at another", async () => {
    const files: string[] = [];
    for (let r = 0; r < 3; r++) {
      files.push(join(dir, shardedStateFileName(r, 3)));
      await writeShardedStateFile(files[r], rankState(3, r));
    }
    const solo = new ShardedDataParallel({ units: UNITS, strategy: "full", group: new SoloGroup() });
    const extra = solo.loadShardedStateDict(readShardedStateFiles([...files].reverse()));
    expect(await solo.gatherParameters()).toEqual(FULL);
    expect(extra.get("exp_avg")!.get("embed")!.subarray(0, 15)).toEqual(
      FULL.get("embed.weight")!.map((x) => 2 * x),
    );
  });

  test("a failed write rejects with the errno error and leaves nothing behind", async () => {
    const file = join(dir, "missing-dir", "x.safetensors");
    await expect(writeShardedStateFile(file, rankState(1, 0))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(
      writeShardedStateFile(join(dir, "clash.safetensors"), rankState(1, 0), {
        metadata: { sharded_state: "" },
      }),
    ).rejects.toThrow(ShardingError);
    expect(readdirSync(dir).filter((f) => f.includes("clash") || f.includes(".tmp"))).toEqual([]);
  });

  test("anything else is a ShardingError naming the file", async () => {
    const good = join(dir, "good.safetensors");
    await writeShardedStateFile(good, rankState(1, 0));
    const variant = (name: string, edit: (b: Buffer) => Buffer) => {
      const f = join(dir, name);
      writeFileSync(f, edit(readFileSync(good)));
      return f;
    };
    const plain = (header: object, data = Buffer.alloc(0)) => {
      const json = Buffer.from(JSON.stringify(header));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      return Buffer.concat([len, json, data]);
    };
    const cases: [string, RegExp][] = [
      [join(dir, "absent.safetensors"), /cannot open \(ENOENT\)/],
      [variant("short.safetensors", (b) => b.subarray(0, 5)), /too short/],
      [variant("cut.safetensors", (b) => b.subarray(0, b.length - 4)), /the data section has/],
      [
        variant("plain.safetensors", () =>
          plain({ x: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4)),
        ),
        /no "sharded_state"/,
      ],
      [
        variant("bf16.safetensors", () =>
          plain(
            {
              __metadata__: { sharded_state: JSON.stringify({ ...rankState(1, 0), tensors: undefined }) },
              x: { dtype: "BF16", shape: [2], data_offsets: [0, 4] },
            },
            Buffer.alloc(4),
          ),
        ),
        /not a 1-D F32 tensor/,
      ],
      [
        variant("format.safetensors", () =>
          plain({ __metadata__: { sharded_state: '{"format":"other/1"}' } }),
        ),
        /format "other\/1" is unknown/,
      ],
    ];
    for (const [file, message] of cases) {
      expect(() => readShardedStateFile(file)).toThrow(ShardingError);
      expect(() => readShardedStateFile(file)).toThrow(message);
      expect(() => readShardedStateFile(file)).toThrow(file);
    }
  });
});
