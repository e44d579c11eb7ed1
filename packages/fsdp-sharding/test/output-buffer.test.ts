import { expect, test } from "vitest";
import { ShardingError, SoloGroup } from "../src/index.js";

test("a caller's out buffer of the wrong length is refused, naming the collective and both lengths", async () => {
  const g = new SoloGroup();
  await expect(g.reduceScatter(new Float32Array(4), "sum", new Float32Array(3))).rejects.toThrow(
    "reduceScatter: out has 3 elements, the result has 4",
  );
  await expect(g.allGather(new Float32Array(2), new Float32Array(5))).rejects.toBeInstanceOf(ShardingError);
  const out = new Float32Array(2);
  expect(await g.allGather(Float32Array.of(1, 2), out)).toBe(out);
  expect(Array.from(out)).toEqual([1, 2]);
});
