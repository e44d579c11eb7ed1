import { expect, test } from "vitest";
import { DistributedError, initProcessGroup, SoloGroup } from "../src/index.js";

const twoNodes = {
  RANK: "0",
  WORLD_SIZE: "4",
  LOCAL_RANK: "0",
  LOCAL_WORLD_SIZE: "2",
  GROUP_RANK: "0",
  MASTER_ADDR: "127.0.0.1",
  MASTER_PORT: "29999",
  BIOMED_LLAMA_SECRET: "s",
};

test("no launcher variables: a group of one whose collectives are the identity", async () => {
  const g = await initProcessGroup({ env: {} });
  expect(g).toBeInstanceOf(SoloGroup);
  const buf = Float32Array.from([1, 2]);
  await g.allReduce(buf, "avg");
  expect(Array.from(buf)).toEqual([1, 2]);
  expect(Array.from(await g.reduceScatter(buf))).toEqual([1, 2]);
  expect(g.subgroup("inter-node").size).toBe(1);
});

test("multi-rank without a secret, or multi-node without a listen address, fails before any socket opens", async () => {
  const { BIOMED_LLAMA_SECRET: _, ...noSecret } = twoNodes;
  await expect(initProcessGroup({ env: noSecret })).rejects.toThrow(/^BIOMED_LLAMA_SECRET is not set/);
  await expect(initProcessGroup({ env: twoNodes })).rejects.toThrow(
    /^BIOMED_LLAMA_ADDR is not set: with 2 nodes/,
  );
  await expect(
    initProcessGroup({ env: { ...twoNodes, BIOMED_LLAMA_TIMEOUT_MS: "soon" } }),
  ).rejects.toBeInstanceOf(DistributedError);
});
