import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { type RankResult, spawnWorld, type World } from "./helpers/world.js";

function whenReady(world: World, rank: number): Promise<void> {
  return new Promise((resolve) => {
    world.children[rank].stdout!.on("data", (d) => {
      if (String(d).includes("ready")) resolve();
    });
  });
}

function survivors(results: RankResult[], victim: number): RankResult[] {
  return results.filter((r) => r.rank !== victim);
}

// Each data path notices a dead rank differently: a single-copy read finds its memory gone, a rank
// waiting at a shared-memory barrier hears the ring's socket close, the TCP ring sees it directly.
test.each([
  ["the default data path", {}],
  ["shared-memory staging", { BIOMED_LLAMA_SHM_SINGLE_COPY: "0" }],
  ["the TCP ring", { BIOMED_LLAMA_SHM: "0" }],
])(
  "a rank killed mid-collective makes every other rank fail fast, naming it (%s)",
  {
    timeout: 60_000,
  },
  async (_label, env: Record<string, string>) => {
    const world = await spawnWorld({ nproc: 4, worker: "failure.ts", args: ["loop", "30000"], env });
    await Promise.all([0, 1, 2, 3].map((r) => whenReady(world, r)));
    const killedAt = Date.now();
    world.children[2].kill("SIGKILL");
    const results = await world.done;
    const waited = Date.now() - killedAt;
    const all = results.map((r) => r.stderr).join("");
    for (const r of survivors(results, 2)) {
      expect(r.code, all).toBe(1);
      expect(r.stderr, all).toMatch(/rank 2 (exited|closed)/);
    }
    // Far below the 30 s collective timeout: detection came from the closed sockets, not a timer.
    expect(waited).toBeLessThan(10_000);
  },
);

test.each([1, 0])(
  "a silent (stopped) rank %i makes the others time out, naming it",
  { timeout: 120_000 },
  async (victim) => {
    const world = await spawnWorld({ nproc: 3, worker: "failure.ts", args: ["loop", "4000"] });
    await Promise.all([0, 1, 2].map((r) => whenReady(world, r)));
    world.children[victim].kill("SIGSTOP");
    const others = world.done;
    const stoppedAt = Date.now();
    const live = [0, 1, 2].filter((r) => r !== victim);
    // Survivors exit on their own; then release and reap the stopped one.
    const exits = await Promise.all(
      live.map(
        (r) => new Promise<number | null>((resolve) => world.children[r].on("exit", (c) => resolve(c))),
      ),
    );
    const waited = Date.now() - stoppedAt;
    world.children[victim].kill("SIGKILL");
    const results = await others;
    const all = results.map((r) => r.stderr).join("");
    expect(exits, all).toEqual([1, 1]);
    for (const r of survivors(results, victim))
      expect(r.stderr, all).toMatch(new RegExp(`rank ${victim} stopped responding`));
    expect(waited).toBeLessThan(15_000);
  },
);

test("ranks of another job on the same port and secret are refused; the job goes on", async () => {
  const stop = join(mkdtempSync(join(tmpdir(), "fsdp-stop-")), "stop");
  const job = await spawnWorld({
    nproc: 2,
    worker: "failure.ts",
    args: ["until"],
    env: { TEST_STOP_FILE: stop },
  });
  await Promise.all([0, 1].map((r) => whenReady(job, r)));
  // A second job told the same MASTER_PORT and secret, as when two jobs are started by hand with one
  // setting: its rank 0 cannot bind the port, and its rank 1 must not join the first job's rendezvous.
  const intruder = await spawnWorld({
    nproc: 2,
    worker: "failure.ts",
    args: ["until"],
    env: { TEST_STOP_FILE: stop, MASTER_PORT: String(job.port), BIOMED_LLAMA_SECRET: job.secret },
  });
  const [i0, i1] = await intruder.done;
  writeFileSync(stop, "");
  const results = await job.done;
  expect(i0.code).toBe(1);
  expect(i0.stderr).toMatch(
    /cannot host the rendezvous store on 127\.0\.0\.1:\d+ .*EADDRINUSE — the port is taken \(another job\?\)/,
  );
  expect(i1.code).toBe(1);
  expect(i1.stderr).toMatch(
    new RegExp(`rank 1 is already connected to this store \\(another job on port ${job.port}\\?`),
  );
  // Turned away at once, not after the rendezvous timeout.
  expect(i1.elapsedMs).toBeLessThan(15_000);
  for (const r of results) expect(r.code, r.stderr).toBe(0);
});

test("a peer with the wrong secret is refused", { timeout: 120_000 }, async () => {
  const world = await spawnWorld({
    nproc: 2,
    worker: "failure.ts",
    args: ["mismatch", "1500"],
    perRankEnv: (r): Record<string, string> => (r === 1 ? { BIOMED_LLAMA_SECRET: "not-the-secret" } : {}),
  });
  const results = await world.done;
  expect(results[1].code).toBe(1);
  expect(results[1].stderr).toMatch(/refused the connection: authentication failed/);
  expect(results[0].code).toBe(1);
  expect(results[0].stderr).toMatch(/rank 1/);
});

test.each([
  ["over TCP", "0"],
  ["through shared memory", "1"],
])(
  "ranks issuing different collectives fail with a mismatch error (%s)",
  { timeout: 120_000 },
  async (_l, shm) => {
    const world = await spawnWorld({
      nproc: 2,
      worker: "failure.ts",
      args: ["mismatch", "20000"],
      env: { BIOMED_LLAMA_SHM: shm },
    });
    const results = await world.done;
    for (const r of results) expect(r.code, r.stderr).toBe(1);
    expect(results.map((r) => r.stderr).join("")).toMatch(
      /collective mismatch .* sent (allReduce|allGather) #\d+/,
    );
  },
);

test.each([
  [
    "over TCP",
    "0",
    /collective mismatch .* allReduce #\d+ step \d+ \(\d+ bytes\) while this rank expected allReduce/,
  ],
  [
    "through shared memory",
    "1",
    /collective mismatch in allReduce #\d+ on the world ring \(previous: rank [01]\): group rank [01] sent allReduce #\d+ with (12|10) elements while this rank has (10|12)/,
  ],
])("ranks passing different buffer sizes fail with a mismatch error (%s)", async (_label, shm, message) => {
  const world = await spawnWorld({
    nproc: 2,
    worker: "failure.ts",
    args: ["size-mismatch", "20000"],
    env: { BIOMED_LLAMA_SHM: shm },
  });
  const results = await world.done;
  for (const r of results) expect(r.code, r.stderr).toBe(1);
  expect(results.map((r) => r.stderr).join("")).toMatch(message);
});
