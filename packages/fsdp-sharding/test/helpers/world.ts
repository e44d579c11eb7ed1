import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../src/runtime/free-port.js";

export const PKG_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface RankResult {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** ms from spawn to exit */
  elapsedMs: number;
}

export interface World {
  children: ChildProcess[];
  done: Promise<RankResult[]>;
  /** The world's MASTER_PORT and BIOMED_LLAMA_SECRET. */
  port: number;
  secret: string;
}

/** Spawns `nnodes × nproc` ranks of a TypeScript worker with torchrun variables, all on loopback. */
export async function spawnWorld(opts: {
  nproc: number;
  nnodes?: number;
  worker: string;
  args?: string[];
  env?: Record<string, string>;
  perRankEnv?: (rank: number) => Record<string, string>;
  /**
   * Ranks still running this long after spawn get SIGUSR2 — a worker importing workers/whereabouts.ts
   * then prints what it is doing — and are killed a second later: a hung world fails with its ranks'
   * whereabouts in their stderr instead of running into the test's timeout with nothing to show.
   */
  deadlineMs?: number;
}): Promise<World> {
  const nnodes = opts.nnodes ?? 1;
  const world = opts.nproc * nnodes;
  // Below the ephemeral range (see src/runtime/free-port.ts): with many worlds starting at once, a port from
  // bind(0) was taken by another world's connection before this world's rank 0 bound it.
  const port = await freePort();
  // Each world its own secret, as each job has: a rank can never join another world's rendezvous.
  const secret = `test-${randomBytes(8).toString("hex")}`;
  const children: ChildProcess[] = [];
  const results: Promise<RankResult>[] = [];
  for (let rank = 0; rank < world; rank++) {
    const env = {
      ...process.env,
      RANK: String(rank),
      WORLD_SIZE: String(world),
      LOCAL_RANK: String(rank % opts.nproc),
      LOCAL_WORLD_SIZE: String(opts.nproc),
      GROUP_RANK: String(Math.floor(rank / opts.nproc)),
      MASTER_ADDR: "127.0.0.1",
      MASTER_PORT: String(port),
      BIOMED_LLAMA_SECRET: secret,
      // Several "nodes" on one machine: all listen on loopback, which must then be said explicitly.
      ...(nnodes > 1 ? { BIOMED_LLAMA_ADDR: "127.0.0.1" } : {}),
      ...opts.env,
      ...opts.perRankEnv?.(rank),
    };
    const t0 = Date.now();
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(PKG_DIR, "test", "workers", opts.worker), ...(opts.args ?? [])],
      {
        cwd: PKG_DIR,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => {
      stdout += d;
    });
    child.stderr!.on("data", (d) => {
      stderr += d;
    });
    const deadline = opts.deadlineMs
      ? setTimeout(() => {
          stderr += `\n[still running ${opts.deadlineMs! / 1000} s after spawn: killed]\n`;
          child.kill("SIGUSR2");
          setTimeout(() => child.kill("SIGKILL"), 1000).unref();
        }, opts.deadlineMs)
      : undefined;
    results.push(
      new Promise((resolve) =>
        child.on("close", (code, signal) => {
          clearTimeout(deadline);
          resolve({ rank, code, signal, stdout, stderr, elapsedMs: Date.now() - t0 });
        }),
      ),
    );
  }
  return { children, done: Promise.all(results), port, secret };
}

export function describeFailures(results: RankResult[]): string {
  return results
    .filter((r) => r.code !== 0)
    .map((r) => `rank ${r.rank} exit ${r.code ?? r.signal}: ${r.stderr.trim()}`)
    .join("\n");
}
