// The Open MPI transport under real `mpirun` (2 and 4 ranks): collectives against naive sums, MPI errors
// as exceptions, FSDP training equal to the single-process reference and to the TCP transport, and a dead
// or stalled rank failing the job instead of hanging. Skipped only when mpirun is not installed.
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  initMpiProcessGroup,
  loadMpiAddon,
  MpiTransportUnavailableError,
} from "../src/transports/transport-mpi.js";
import { expectCollectiveResults } from "./helpers/collective-expectations.js";
import { referenceSgd, STRATEGIES } from "./helpers/fsdp-problem.js";
import { describeFailures, PKG_DIR, spawnWorld } from "./helpers/world.js";
import { mpiAddonSpecifier } from "./workers/mpi-addon-spec.js";

function onPath(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {}
  }
  return null;
}
const MPIRUN = onPath("mpirun");
const SKIP_REASON = MPIRUN
  ? ""
  : " [skipped: mpirun not on PATH; apt-get install openmpi-bin libopenmpi-dev]";

interface MpirunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  elapsedMs: number;
  /** The test had to kill mpirun: the job hung. */
  hung: boolean;
}

/** Runs `mpirun -np N node --import tsx test/workers/<worker>`; kills the whole process group after `limitMs`. */
function mpirun(np: number, worker: string, args: string[], env: Record<string, string>, limitMs: number) {
  const t0 = Date.now();
  const child: ChildProcess = spawn(
    MPIRUN!,
    [
      "--allow-run-as-root",
      "--oversubscribe",
      "-np",
      String(np),
      process.execPath,
      "--import",
      "tsx",
      join(PKG_DIR, "test", "workers", worker),
      ...args,
    ],
    // Several jobs share 2 cores: make idle ranks yield instead of busy-polling (Open MPI only does that
    // by itself when one job oversubscribes).
    {
      cwd: PKG_DIR,
      env: { ...process.env, OMPI_MCA_mpi_yield_when_idle: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  let output = "";
  child.stdout!.on("data", (d) => {
    output += d;
  });
  child.stderr!.on("data", (d) => {
    output += d;
  });
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    process.kill(-child.pid!, "SIGKILL");
  }, limitMs);
  return new Promise<MpirunResult>((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, elapsedMs: Date.now() - t0, hung });
    }),
  );
}

test("selecting mpi without the addon fails with one line saying how to install it", async () => {
  const err = await loadMpiAddon("@biomed-llama/no-such-mpi-addon").catch((e) => e);
  expect(err).toBeInstanceOf(MpiTransportUnavailableError);
  expect(err.message).not.toContain("\n");
  expect(err.message).toContain("apt-get install libopenmpi-dev openmpi-bin");
  expect(err.message).toContain("build:native");
});

const ADDON_DIST = join(PKG_DIR, "..", "mpi-addon", "dist", "index.js");
test.skipIf(!existsSync(ADDON_DIST))(
  "an installed but unbuilt addon fails initMpiProcessGroup with one line saying how to build it",
  async () => {
    const addon = await import(mpiAddonSpecifier());
    const missing = join(PKG_DIR, "no-such-build", "mpi_addon.node");
    const unbuilt = { ...addon, MpiCommunicator: { world: () => addon.loadMpiBinding(missing) } };
    const err = await initMpiProcessGroup({ addon: unbuilt, env: {} }).catch((e) => e);
    expect(err).toBeInstanceOf(MpiTransportUnavailableError);
    expect(err.message).not.toContain("\n");
    expect(err.message).toContain(missing);
    expect(err.message).toContain("apt-get install libopenmpi-dev openmpi-bin");
  },
);

// [label, ranks, ranks per simulated node (undefined = MPI's shared-memory view: one node)]
const worlds: [string, number, number | undefined][] = [
  ["mpirun -np 2", 2, undefined],
  ["mpirun -np 4 as 2 nodes x 2", 4, 2],
];

describe.skipIf(!MPIRUN)(`Open MPI transport${SKIP_REASON}`, () => {
  const dirs: string[] = [];
  const runs = new Map<string, { dir: string; result: MpirunResult }>();
  let tcpDir = "";
  let tcpFailures = "";
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), "fsdp-mpi-"));
    dirs.push(d);
    return d;
  };

  let killed: MpirunResult;
  let stalled: MpirunResult;
  // Every job starts at once: most wall time is process start-up, which overlaps on the 2 cores we assume.
  beforeAll(async () => {
    // The TCP world is the transport the MPI results must agree with, on the same problem.
    tcpDir = tmp();
    const tcp = spawnWorld({ nproc: 2, worker: "rank-checks.ts", args: [tcpDir, "fsdp"] }).then(async (w) => {
      tcpFailures = describeFailures(await w.done);
    });
    const mpiWorlds = worlds.map(async ([label, np, perNode]) => {
      const dir = tmp();
      // The 4-rank job goes through initProcessGroup() + BIOMED_LLAMA_TRANSPORT, the 2-rank one calls
      // initMpiProcessGroup directly: both entry points are covered.
      const env: Record<string, string> = perNode
        ? { BIOMED_LLAMA_MPI_RANKS_PER_NODE: String(perNode), BIOMED_LLAMA_TRANSPORT: "mpi" }
        : {};
      runs.set(label, { dir, result: await mpirun(np, "mpi-rank-checks.ts", [dir], env, 45_000) });
    });
    [killed, stalled] = await Promise.all([
      mpirun(2, "mpi-failure.ts", ["kill", "30000"], {}, 45_000),
      // 3 s: long enough for rank 1 to reach its stall under load, far below the test-side limit.
      mpirun(2, "mpi-failure.ts", ["stall", "3000"], {}, 45_000),
      ...mpiWorlds,
      tcp,
    ]);
  }, 55_000);

  describe.each(worlds)("%s", (label, np, perNode) => {
    const ranks = Array.from({ length: np }, (_, r) => r);
    const nproc = perNode ?? np;
    let dir = "";
    const load = (r: number, name: string) => {
      const b = readFileSync(join(dir, `r${r}-${name}.bin`));
      return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    };
    beforeAll(() => {
      dir = runs.get(label)!.dir;
    });

    test("mpirun exits 0", () => {
      const { result } = runs.get(label)!;
      expect(result.hung, "mpirun had to be killed").toBe(false);
      expect(result.code, result.output).toBe(0);
    });

    test("ranks see the node layout", () => {
      for (const r of ranks) {
        const layout = JSON.parse(readFileSync(join(dir, `r${r}-layout.json`), "utf8"));
        expect(layout).toEqual({
          rank: r,
          size: np,
          localRank: r % nproc,
          localSize: nproc,
          nodeRank: Math.floor(r / nproc),
        });
      }
    });

    test("collectives match naive sums", () => {
      expectCollectiveResults(ranks, nproc, load);
    });

    test("an MPI error comes back as an exception naming the call and the rank", () => {
      for (const r of ranks) {
        const msg = readFileSync(join(dir, `r${r}-mpi-error.txt`), "utf8");
        expect(msg).toContain("MPI_Bcast failed on rank " + r);
        expect(msg).toContain("MPI_ERR_ROOT");
      }
    });

    test.each(STRATEGIES)("FSDP %s equals the single-process result", (variant) => {
      const ref = referenceSgd();
      for (const r of ranks) {
        const got = JSON.parse(readFileSync(join(dir, `r${r}-fsdp-${variant}.json`), "utf8"));
        for (let j = 0; j < ref.theta.length; j++) expect(got.theta[j]).toBeCloseTo(ref.theta[j], 5);
        for (let s = 0; s < ref.norms.length; s++) expect(got.norms[s]).toBeCloseTo(ref.norms[s], 5);
      }
    });
  });

  test.each(STRATEGIES)("FSDP %s on 2 ranks: MPI transport equals the TCP transport", (variant) => {
    expect(tcpFailures).toBe("");
    const mpiDir = runs.get("mpirun -np 2")!.dir;
    for (const r of [0, 1]) {
      const mpi = JSON.parse(readFileSync(join(mpiDir, `r${r}-fsdp-${variant}.json`), "utf8"));
      const tcp = JSON.parse(readFileSync(join(tcpDir, `r${r}-fsdp-${variant}.json`), "utf8"));
      expect(mpi.theta.length).toBe(tcp.theta.length);
      // Two ranks: each sum has two terms, so both transports round identically.
      for (let j = 0; j < tcp.theta.length; j++) expect(mpi.theta[j], `theta[${j}]`).toBe(tcp.theta[j]);
    }
  });

  test("a killed rank makes mpirun fail, not hang", () => {
    expect(killed.hung, "mpirun had to be killed by the test").toBe(false);
    expect(killed.code).not.toBe(0);
    expect(killed.output).toMatch(/rank 1 .*(signal 9|Killed)/s);
  });

  test("a stalled rank trips the timeout, which names the rank and aborts the job", () => {
    expect(stalled.hung, "mpirun had to be killed by the test").toBe(false);
    expect(stalled.code).not.toBe(0);
    expect(stalled.output).toContain("timed out after 3000 ms on rank 0");
    // Our own line, not mpirun's banner: under load Open MPI sometimes fails to print its help text.
    expect(stalled.output).toContain("aborting the job with MPI_Abort");
  });
});
