// The built addon under real mpirun (2 and 3 ranks) against naive loops, plus the "not built" error.
// The mpirun part is skipped only when mpirun is not installed.
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import { isMpiAddonBuilt, loadMpiBinding, MpiUnavailableError } from "../src/index.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const MPIRUN = (process.env.PATH ?? "")
  .split(delimiter)
  .map((d) => join(d, "mpirun"))
  .find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

test("a missing native addon fails with one line saying how to install MPI and rebuild", () => {
  const missing = join(HERE, "no-such-dir", "mpi_addon.node");
  expect(isMpiAddonBuilt(missing)).toBe(false);
  let err: unknown;
  try {
    loadMpiBinding(missing);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(MpiUnavailableError);
  const msg = (err as Error).message;
  expect(msg).not.toContain("\n");
  expect(msg).toContain(missing);
  expect(msg).toContain("apt-get install libopenmpi-dev openmpi-bin");
});

const data = (rank: number, tag: number, n: number) =>
  Float32Array.from({ length: n }, (_, i) => (((rank + 1) * 7919 + tag * 104729 + i * 31) % 201) - 100);

function combine(ranks: number[], tag: number, n: number, op: "sum" | "max"): number[] {
  const out = new Array(n).fill(op === "sum" ? 0 : -Infinity);
  for (const r of ranks) {
    const d = data(r, tag, n);
    for (let i = 0; i < n; i++) out[i] = op === "sum" ? out[i] + d[i] : Math.max(out[i], d[i]);
  }
  return out;
}

function runRanks(np: number): Promise<{ code: number | null; output: string; results: any[] }> {
  const dir = mkdtempSync(join(tmpdir(), "mpi-addon-"));
  const child = spawn(
    MPIRUN!,
    [
      "--allow-run-as-root",
      "--oversubscribe",
      "-np",
      String(np),
      process.execPath,
      join(HERE, "workers", "collectives.mjs"),
      dir,
    ],
    {
      env: { ...process.env, OMPI_MCA_mpi_yield_when_idle: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  let output = "";
  child.stdout.on("data", (d) => {
    output += d;
  });
  child.stderr.on("data", (d) => {
    output += d;
  });
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 30_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      const results = Array.from({ length: np }, (_, r) => join(dir, `r${r}.json`))
        .filter((f) => existsSync(f))
        .map((f) => JSON.parse(readFileSync(f, "utf8")));
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output, results });
    }),
  );
}

describe.skipIf(!MPIRUN)(
  `collectives under mpirun${MPIRUN ? "" : " [skipped: mpirun not on PATH; apt-get install openmpi-bin libopenmpi-dev]"}`,
  () => {
    const runs = new Map<number, Awaited<ReturnType<typeof runRanks>>>();
    beforeAll(async () => {
      expect(
        isMpiAddonBuilt(),
        "mpirun is installed but the addon is not built: pnpm --filter @biomed-llama/mpi-addon build",
      ).toBe(true);
      const [two, three] = await Promise.all([runRanks(2), runRanks(3)]);
      runs.set(2, two);
      runs.set(3, three);
    }, 40_000);

    describe.each([2, 3])("%i ranks", (np) => {
      test("every rank finishes and reports", () => {
        const run = runs.get(np)!;
        expect(run.code, run.output).toBe(0);
        expect(run.results.map((r) => r.rank)).toEqual(Array.from({ length: np }, (_, r) => r));
      });

      test("collectives equal naive loops", () => {
        const ranks = Array.from({ length: np }, (_, r) => r);
        const results = runs.get(np)!.results;
        expect(results).toHaveLength(np);
        for (const res of results) {
          const r = res.rank;
          expect(res.size).toBe(np);
          expect(res.threadLevel).toBe("multiple");
          expect(res.allReduceSum).toEqual(combine(ranks, 1, 1000, "sum"));
          expect(res.allReduceMax).toEqual(combine(ranks, 1, 1000, "max"));
          expect(res.reduceScatterSum).toEqual(combine(ranks, 2, 5 * np, "sum").slice(r * 5, r * 5 + 5));
          expect(res.reduceScatterMax).toEqual(combine(ranks, 2, 5 * np, "max").slice(r * 5, r * 5 + 5));
          expect(res.allGather).toEqual(ranks.flatMap((q) => Array.from(data(q, 3, 4))));
          expect(res.broadcast).toEqual(Array.from(data(np - 1, 4, 9)));
          // One machine: every rank shares memory with every other.
          expect(res.shared).toEqual({ rank: r, size: np });
          const same = ranks.filter((q) => q % 2 === r % 2);
          expect(res.parity).toEqual({
            rank: same.indexOf(r),
            size: same.length,
            sum: combine(same, 5, 3, "sum"),
          });
        }
      });

      test("an MPI error becomes an MpiError naming the call and the rank", () => {
        const results = runs.get(np)!.results;
        expect(results).toHaveLength(np);
        for (const res of results) {
          expect(res.error.isMpiError).toBe(true);
          expect(res.error.call).toBe("MPI_Bcast");
          expect(res.error.rank).toBe(res.rank);
          expect(res.error.message).toMatch(
            new RegExp(`^MPI_Bcast failed on rank ${res.rank} \\(world communicator\\): MPI_ERR_ROOT`),
          );
        }
      });
    });
  },
);
