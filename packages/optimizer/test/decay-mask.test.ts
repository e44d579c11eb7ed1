import { expect, test } from "vitest";
import { decayMask, flatDecayMask, flatDecayRanges } from "../src/decay-mask";

test("decayMask: matrices decay, vectors do not; 'all' decays everything", () => {
  expect(decayMask("model.layers.0.self_attn.q_proj.weight", [64, 64])).toBe(true);
  expect(decayMask("model.embed_tokens.weight", [32000, 64])).toBe(true);
  expect(decayMask("model.norm.weight", [64])).toBe(false);
  expect(decayMask("model.norm.weight", [64], "all")).toBe(true);
});

test("flatDecayMask over shards of a padded flat unit reassembles the whole-unit mask", () => {
  // norm [3] | weight [2,2] | bias [2] | padding to 12 (4 ranks × 3)
  const entries = [
    { name: "norm.weight", shape: [3] },
    { name: "proj.weight", shape: [2, 2] },
    { name: "proj.bias", shape: [2] },
  ];
  const perRank = [0, 1, 2, 3].flatMap((r) => Array.from(flatDecayMask(entries, r * 3, 3)));
  expect(perRank).toEqual([0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
  expect(Array.from(flatDecayMask(entries, 0, 12, "all"))).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
});

test("flatDecayMask honours explicit offsets (alignment gaps)", () => {
  const entries = [
    { name: "a", shape: [2, 1], offset: 0 },
    { name: "b", shape: [1, 2], offset: 4 },
  ];
  expect(Array.from(flatDecayMask(entries, 0, 7))).toEqual([1, 1, 0, 0, 1, 1, 0]);
});

/** The decaying ranges of [start, start+length), read off a naive per-element walk of the layout. */
function naiveRanges(
  entries: { name: string; shape: number[]; offset?: number }[],
  start: number,
  length: number,
  policy: "matrices" | "all",
): [number, number][] {
  const layout: { off: number; numel: number; decays: boolean }[] = [];
  let cursor = 0;
  for (const e of entries) {
    const off = e.offset ?? cursor;
    const numel = e.shape.reduce((a, b) => a * b, 1);
    layout.push({ off, numel, decays: policy === "all" || e.shape.length >= 2 });
    cursor = off + numel;
  }
  const out: [number, number][] = [];
  for (let i = 0; i < length; i++) {
    const g = start + i;
    const on = layout.some((l) => l.decays && g >= l.off && g < l.off + l.numel);
    const last = out[out.length - 1];
    if (on && last && last[1] === i) last[1] = i + 1;
    else if (on) out.push([i, i + 1]);
  }
  return out;
}

test("flatDecayRanges: the decaying ranges of each shard, with gaps, adjacent decaying entries merged", () => {
  const entries = [
    { name: "norm.weight", shape: [3] },
    { name: "proj.weight", shape: [2, 2] },
    { name: "up.weight", shape: [1, 3] },
    { name: "proj.bias", shape: [2] },
    { name: "out.weight", shape: [2, 2], offset: 15 },
  ];
  for (const size of [1, 2, 3, 4, 7])
    for (let start = 0; start < 21; start += size)
      for (const policy of ["matrices", "all"] as const)
        expect(flatDecayRanges(entries, start, size, policy), `${start}+${size} ${policy}`).toEqual(
          naiveRanges(entries, start, size, policy),
        );
  expect(flatDecayRanges(entries, 0, 21)).toEqual([
    [3, 10],
    [15, 19],
  ]);
});
