import { describe, expect, test } from "vitest";
import { RankEnvError } from "../src/errors.js";
import { expandSlurmTasksPerNode, firstSlurmHost, rankInfoFromEnv } from "../src/runtime/rank-env.js";

describe("rankInfoFromEnv", () => {
  test("no launcher variables: one process", () => {
    expect(rankInfoFromEnv({})).toMatchObject({ rank: 0, worldSize: 1, source: "single" });
  });

  test("torchrun, 2 nodes x 4", () => {
    const info = rankInfoFromEnv({
      RANK: "6",
      WORLD_SIZE: "8",
      LOCAL_RANK: "2",
      LOCAL_WORLD_SIZE: "4",
      GROUP_RANK: "1",
      MASTER_ADDR: "10.0.0.1",
      MASTER_PORT: "29600",
    });
    expect(info).toEqual({
      rank: 6,
      worldSize: 8,
      localRank: 2,
      localWorldSize: 4,
      nodeRank: 1,
      numNodes: 2,
      masterAddr: "10.0.0.1",
      masterPort: 29600,
      source: "torchrun",
    });
  });

  test("torchrun wins over SLURM and OpenMPI variables", () => {
    const info = rankInfoFromEnv({
      RANK: "1",
      WORLD_SIZE: "2",
      MASTER_ADDR: "h",
      MASTER_PORT: "1234",
      SLURM_PROCID: "0",
      SLURM_NTASKS: "4",
      OMPI_COMM_WORLD_RANK: "3",
      OMPI_COMM_WORLD_SIZE: "4",
    });
    expect(info.source).toBe("torchrun");
    expect(info.rank).toBe(1);
    expect(info.worldSize).toBe(2);
  });

  test("SLURM with compressed tasks-per-node and a bracketed node list", () => {
    const info = rankInfoFromEnv({
      SLURM_PROCID: "5",
      SLURM_NTASKS: "8",
      SLURM_LOCALID: "1",
      SLURM_TASKS_PER_NODE: "4(x2)",
      SLURM_NODEID: "1",
      SLURM_STEP_NODELIST: "gpu[003-004]",
      SLURM_JOB_ID: "123456",
    });
    expect(info).toMatchObject({
      rank: 5,
      worldSize: 8,
      localRank: 1,
      localWorldSize: 4,
      nodeRank: 1,
      numNodes: 2,
      masterAddr: "gpu003",
      masterPort: 20000 + (123456 % 20000),
      source: "slurm",
    });
  });

  test("SLURM wins over OpenMPI; MASTER_PORT overrides the derived one", () => {
    const info = rankInfoFromEnv({
      SLURM_PROCID: "0",
      SLURM_NTASKS: "2",
      SLURM_NTASKS_PER_NODE: "2",
      SLURM_JOB_NODELIST: "n1,n2",
      MASTER_PORT: "4000",
      OMPI_COMM_WORLD_RANK: "1",
      OMPI_COMM_WORLD_SIZE: "2",
    });
    expect(info).toMatchObject({ source: "slurm", rank: 0, masterAddr: "n1", masterPort: 4000 });
  });

  test("OpenMPI", () => {
    const info = rankInfoFromEnv({
      OMPI_COMM_WORLD_RANK: "3",
      OMPI_COMM_WORLD_SIZE: "4",
      OMPI_COMM_WORLD_LOCAL_RANK: "1",
      OMPI_COMM_WORLD_LOCAL_SIZE: "2",
      OMPI_COMM_WORLD_NODE_RANK: "1",
      MASTER_ADDR: "node0",
    });
    expect(info).toMatchObject({
      rank: 3,
      worldSize: 4,
      localRank: 1,
      localWorldSize: 2,
      nodeRank: 1,
      numNodes: 2,
    });
    expect(info.masterPort).toBe(29500);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ["RANK >= WORLD_SIZE", { RANK: "2", WORLD_SIZE: "2", MASTER_ADDR: "a", MASTER_PORT: "1" }, /^RANK=2/],
    ["non-numeric", { RANK: "x", WORLD_SIZE: "2" }, /^RANK="x"/],
    ["missing WORLD_SIZE", { RANK: "0" }, /^WORLD_SIZE is not set/],
    ["missing MASTER_ADDR", { RANK: "0", WORLD_SIZE: "2", MASTER_PORT: "1" }, /MASTER_ADDR/],
    [
      "LOCAL_RANK too big",
      {
        RANK: "0",
        WORLD_SIZE: "4",
        LOCAL_RANK: "2",
        LOCAL_WORLD_SIZE: "2",
        MASTER_ADDR: "a",
        MASTER_PORT: "1",
      },
      /^LOCAL_RANK=2/,
    ],
    [
      "uneven nodes",
      { RANK: "0", WORLD_SIZE: "3", LOCAL_WORLD_SIZE: "2", MASTER_ADDR: "a", MASTER_PORT: "1" },
      /LOCAL_WORLD_SIZE=2/,
    ],
    [
      "rank not node-major",
      {
        RANK: "1",
        WORLD_SIZE: "4",
        LOCAL_RANK: "0",
        LOCAL_WORLD_SIZE: "2",
        GROUP_RANK: "1",
        MASTER_ADDR: "a",
        MASTER_PORT: "1",
      },
      /GROUP_RANK/,
    ],
    ["bad port", { RANK: "0", WORLD_SIZE: "2", MASTER_ADDR: "a", MASTER_PORT: "70000" }, /MASTER_PORT=70000/],
    [
      "SLURM_PROCID too big",
      { SLURM_PROCID: "4", SLURM_NTASKS: "4", SLURM_JOB_NODELIST: "n" },
      /^SLURM_PROCID=4/,
    ],
    [
      "uneven SLURM nodes",
      { SLURM_PROCID: "0", SLURM_NTASKS: "7", SLURM_TASKS_PER_NODE: "4,3", SLURM_JOB_NODELIST: "n[1-2]" },
      /SLURM_TASKS_PER_NODE=4,3/,
    ],
    [
      "OMPI local rank",
      { OMPI_COMM_WORLD_RANK: "0", OMPI_COMM_WORLD_SIZE: "2", OMPI_COMM_WORLD_LOCAL_RANK: "5" },
      /^OMPI_COMM_WORLD_LOCAL_RANK=5/,
    ],
  ];
  for (const [what, env, msg] of bad) {
    test(`rejects ${what} with a one-line error naming the variable`, () => {
      let err: unknown;
      try {
        rankInfoFromEnv(env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RankEnvError);
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).not.toContain("\n");
    });
  }
});

test("SLURM helpers", () => {
  expect(expandSlurmTasksPerNode("4(x2),3")).toEqual([4, 4, 3]);
  expect(expandSlurmTasksPerNode("2")).toEqual([2]);
  expect(firstSlurmHost("gpu[003-005,010],cpu1")).toBe("gpu003");
  expect(firstSlurmHost("alpha,beta")).toBe("alpha");
  expect(firstSlurmHost("node[7,9]")).toBe("node7");
});
