import { expect, test } from "vitest";
import { FlatParamUnit, reshardChunks } from "../src/fsdp/flat-param-unit.js";

const params = [
  { name: "w", shape: [2, 3] },
  { name: "b", shape: [3] },
  { name: "g", shape: [2] },
];

test("flattens in order, pads to a multiple of the shard size, rank r owns chunk r", () => {
  const u = new FlatParamUnit("layer0", params, 4);
  expect(u.numel).toBe(11);
  expect(u.chunkSize).toBe(3);
  expect(u.paddedNumel).toBe(12);
  const m = new Map([
    ["w", Float32Array.from([1, 2, 3, 4, 5, 6])],
    ["b", Float32Array.from([7, 8, 9])],
    ["g", Float32Array.from([10, 11])],
  ]);
  const flat = u.flatten(m);
  expect(Array.from(flat)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0]);
  expect(Array.from(u.chunk(flat, 3))).toEqual([10, 11, 0]);
  expect(Array.from(u.chunk(flat, 1))).toEqual([4, 5, 6]);
  const back = u.unflatten(flat);
  expect(Array.from(back.get("b")!)).toEqual([7, 8, 9]);
  expect(Array.from(back.get("g")!)).toEqual([10, 11]);
});

test("missing or mis-sized tensors are named", () => {
  const u = new FlatParamUnit("layer0", params, 2);
  expect(() => u.flatten(new Map([["w", new Float32Array(6)]]))).toThrow(/parameter b is missing/);
  expect(() =>
    u.flatten(
      new Map([
        ["w", new Float32Array(5)],
        ["b", new Float32Array(3)],
        ["g", new Float32Array(2)],
      ]),
    ),
  ).toThrow(/w has 5 elements, expected 6/);
});

test("reshard 4 → 3 → 1 keeps the real elements and zero padding", () => {
  const u4 = new FlatParamUnit("u", params, 4);
  const flat = Float32Array.from({ length: 12 }, (_, i) => (i < 11 ? i + 1 : 0));
  const chunks4 = [0, 1, 2, 3].map((r) => u4.chunk(flat, r).slice());
  const chunks3 = reshardChunks(u4, chunks4, 3);
  expect(chunks3.map((c) => Array.from(c))).toEqual([
    [1, 2, 3, 4],
    [5, 6, 7, 8],
    [9, 10, 11, 0],
  ]);
  const one = reshardChunks(u4.withShardSize(3), chunks3, 1);
  expect(Array.from(one[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
});

test("ShardedDataParallel validates every gradient before communicating", async () => {
  const { ShardedDataParallel, SoloGroup } = await import("../src/index.js");
  const sdp = new ShardedDataParallel({
    units: [
      { name: "a", params: [{ name: "x", shape: [2] }] },
      { name: "b", params: [{ name: "y", shape: [3] }] },
    ],
    strategy: "full",
    group: new SoloGroup(),
  });
  await expect(sdp.reduceGradients(new Map([["x", new Float32Array(2)]]))).rejects.toThrow(
    /unit b: gradient for parameter y is missing/,
  );
  await expect(sdp.reduceGradients()).rejects.toThrow(/call accumulateGradients first/);
  sdp.accumulateGradients(
    new Map([
      ["x", Float32Array.from([1, 2])],
      ["y", Float32Array.from([3, 4, 5])],
    ]),
  );
  const shards = await sdp.reduceGradients(
    new Map([
      ["x", Float32Array.from([10, 20])],
      ["y", Float32Array.from([30, 40, 50])],
    ]),
  );
  expect(shards.map((s) => Array.from(s.grad))).toEqual([
    [11, 22],
    [33, 44, 55],
  ]);
  expect(shards.map((s) => s.key)).toEqual(["a/shard0of1", "b/shard0of1"]);
});

test("reduceUnitGradients needs only its unit's gradients and refuses pending micro-steps", async () => {
  const { ShardedDataParallel, SoloGroup } = await import("../src/index.js");
  const sdp = new ShardedDataParallel({
    units: [
      { name: "a", params: [{ name: "x", shape: [2] }] },
      { name: "b", params: [{ name: "y", shape: [3] }] },
    ],
    strategy: "full",
    group: new SoloGroup(),
  });
  const b = await sdp.reduceUnitGradients("b", new Map([["y", Float32Array.from([3, 4, 5])]]));
  expect([b.unit, b.key, Array.from(b.grad)]).toEqual(["b", "b/shard0of1", [3, 4, 5]]);
  await expect(sdp.reduceUnitGradients("a", new Map([["y", new Float32Array(3)]]))).rejects.toThrow(
    /unit a: gradient for parameter x is missing/,
  );
  await expect(sdp.reduceUnitGradients("c", new Map())).rejects.toThrow(/unknown unit c/);
  sdp.accumulateGradients(
    new Map([
      ["x", new Float32Array(2)],
      ["y", new Float32Array(3)],
    ]),
  );
  await expect(sdp.reduceUnitGradients("a", new Map([["x", new Float32Array(2)]]))).rejects.toThrow(
    /accumulated micro-steps pending/,
  );
});

test("accumulateUnitGradients sums unit by unit what accumulateGradients sums at once; every unit is needed", async () => {
  const { ShardedDataParallel, SoloGroup } = await import("../src/index.js");
  const make = () =>
    new ShardedDataParallel({
      units: [
        { name: "a", params: [{ name: "x", shape: [2] }] },
        { name: "b", params: [{ name: "y", shape: [3] }] },
      ],
      strategy: "none",
      group: new SoloGroup(),
    });
  const micro = [
    new Map([
      ["x", Float32Array.from([1, 2])],
      ["y", Float32Array.from([3, 4, 5])],
    ]),
    new Map([
      ["x", Float32Array.from([0.5, -2])],
      ["y", Float32Array.from([7, 0, -1])],
    ]),
  ];
  const whole = make();
  for (const g of micro) whole.accumulateGradients(g);
  const perUnit = make();
  for (const g of micro) {
    perUnit.accumulateUnitGradients("b", new Map([["y", g.get("y") as Float32Array]]));
    perUnit.accumulateUnitGradients("a", new Map([["x", g.get("x") as Float32Array]]));
  }
  const want = (await whole.reduceGradients()).map((s) => Array.from(s.grad));
  expect((await perUnit.reduceGradients()).map((s) => Array.from(s.grad))).toEqual(want);
  expect(want).toEqual([
    [1.5, 0],
    [10, 4, 4],
  ]);
  const partial = make();
  partial.accumulateUnitGradients("a", new Map([["x", new Float32Array(2)]]));
  await expect(partial.reduceGradients()).rejects.toThrow(/unit b has no accumulated gradients/);
  expect(() => partial.accumulateUnitGradients("a", new Map([["x", new Float32Array(3)]]))).toThrow(
    /unit a: gradient x has 3 elements, expected 2/,
  );
});

test("shardedStateDict copies by default; copy: false hands out the live parameter and extra buffers", async () => {
  const { ShardedDataParallel, SoloGroup } = await import("../src/index.js");
  const sdp = new ShardedDataParallel({
    units: [{ name: "a", params: [{ name: "x", shape: [2] }] }],
    strategy: "none",
    group: new SoloGroup(),
  });
  sdp.initParameters(new Map([["x", Float32Array.from([1, 2])]]));
  const live = sdp.parameterShards()[0].param;
  const moment = Float32Array.from([5, 6]);
  const copied = sdp.shardedStateDict({ exp_avg: new Map([["a", moment]]) });
  const views = sdp.shardedStateDict({ exp_avg: new Map([["a", moment]]) }, { copy: false });
  expect(copied.tensors["a::param"]).not.toBe(live);
  expect(copied.tensors["a::exp_avg"]).not.toBe(moment);
  expect(views.tensors["a::param"]).toBe(live);
  expect(views.tensors["a::exp_avg"]).toBe(moment);
  live[0] = 9;
  expect(Array.from(copied.tensors["a::param"])).toEqual([1, 2]);
  expect(Array.from(views.tensors["a::param"])).toEqual([9, 2]);
});

test("flatten into a reused buffer zeroes its padding; unflatten can hand out views", () => {
  const u = new FlatParamUnit("layer0", params, 4);
  const m = new Map([
    ["w", Float32Array.from([1, 2, 3, 4, 5, 6])],
    ["b", Float32Array.from([7, 8, 9])],
    ["g", Float32Array.from([10, 11])],
  ]);
  const out = new Float32Array(12).fill(-1);
  expect(u.flatten(m, "gradient", out)).toBe(out);
  expect(Array.from(out)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0]);
  expect(() => u.flatten(m, "gradient", new Float32Array(11))).toThrow(
    /flatten into 11 elements, expected 12/,
  );
  const views = u.unflatten(out, new Map(), { views: true });
  out[6] = 70;
  expect(Array.from(views.get("b")!)).toEqual([70, 8, 9]);
  expect(views.get("b")!.buffer).toBe(out.buffer);
  expect(Array.from(u.unflatten(out).get("g")!)).toEqual([10, 11]);
});

test("reuse: gathers are views into one buffer until the next reuse call; reductions land in `out`", async () => {
  const { ShardedDataParallel, SoloGroup } = await import("../src/index.js");
  const sdp = new ShardedDataParallel({
    units: [
      { name: "a", params: [{ name: "x", shape: [2] }] },
      { name: "b", params: [{ name: "y", shape: [3] }] },
    ],
    strategy: "full",
    group: new SoloGroup(),
  });
  sdp.initParameters(
    new Map([
      ["x", Float32Array.from([1, 2])],
      ["y", Float32Array.from([3, 4, 5])],
    ]),
  );
  const a = await sdp.gatherUnit("a", new Map(), { reuse: true });
  expect(Array.from(a.get("x")!)).toEqual([1, 2]);
  const b = await sdp.gatherUnit("b", new Map(), { reuse: true });
  expect(Array.from(b.get("y")!)).toEqual([3, 4, 5]);
  expect(b.get("y")!.buffer).toBe(a.get("x")!.buffer); // one buffer: a's view now shows b's values
  expect(Array.from(a.get("x")!)).toEqual([3, 4]);
  const copy = await sdp.gatherUnit("a");
  expect(copy.get("x")!.buffer).not.toBe(a.get("x")!.buffer);
  const out = new Float32Array(3);
  const shard = await sdp.reduceUnitGradients("b", new Map([["y", Float32Array.from([6, 7, 8])]]), {
    reuse: true,
    out,
  });
  expect(shard.grad).toBe(out);
  expect(Array.from(out)).toEqual([6, 7, 8]);
});
