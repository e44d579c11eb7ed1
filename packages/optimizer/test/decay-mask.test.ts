import { expect, test } from "vitest";
import { decayMask, flatDecayMask } from "../src/decay-mask";

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
