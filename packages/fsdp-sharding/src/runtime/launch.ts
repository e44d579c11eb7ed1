import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants } from "node:os";
import type { Writable } from "node:stream";
import { DistributedError } from "../errors.js";
import { freePort } from "./free-port.js";
import { SECRET_VAR } from "./handshake.js";

export interface LaunchOptions {
  nprocPerNode: number;
  /** Default 1. */
  nnodes?: number;
  /** This machine's node index, default 0. */
  nodeRank?: number;
  /** Default 127.0.0.1. */
  masterAddr?: string;
  /** Default: a free port for single-node jobs, 29500 (torchrun's default) otherwise. */
  masterPort?: number;
  /** Program and arguments, e.g. ["node", "train.js"]. */
  command: string[];
  /** Base environment for the children (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Where prefixed child output goes (default the launcher's own stdout / stderr). */
  stdout?: Writable;
  stderr?: Writable;
  /** After the first failure, how long the other ranks get to exit after SIGTERM before SIGKILL. */
  killGraceMs?: number;
}

export interface LaunchResult {
  /** 0 when every rank succeeded, else the first failing rank's exit code (128 + signal number for signals). */
  code: number;
  /** Global rank that failed first, if any. */
  failedRank?: number;
  /** "exit code 3" / "signal SIGKILL". */
  reason?: string;
}

/** Bad launcher arguments or environment. */
export class LaunchError extends DistributedError {}

/** Copies a stream to `out` line by line, each line prefixed; a trailing partial line is flushed at the end. */
function prefixLines(from: NodeJS.ReadableStream, out: Writable, prefix: string): Promise<void> {
  return new Promise((resolve) => {
    let pending = "";
    from.setEncoding("utf8");
    from.on("data", (d: string) => {
      pending += d;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      if (lines.length) out.write(lines.map((l) => `${prefix}${l}\n`).join(""));
    });
    from.on("end", () => {
      if (pending) out.write(`${prefix}${pending}\n`);
      resolve();
    });
  });
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min)
    throw new LaunchError(`${name} must be an integer >= ${min}, got ${v}`);
}

/**
 * torchrun for this package: starts `nprocPerNode` children on this node with RANK, WORLD_SIZE,
 * LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK / NODE_RANK, MASTER_ADDR, MASTER_PORT and the job secret;
 * prefixes their output with `[rank N]`; forwards SIGINT / SIGTERM; and when one rank fails, stops the
 * others and resolves with that rank's exit code.
 */
export async function launchJob(opts: LaunchOptions): Promise<LaunchResult> {
  const nnodes = opts.nnodes ?? 1;
  const nodeRank = opts.nodeRank ?? 0;
  checkInt("--nproc-per-node", opts.nprocPerNode, 1);
  checkInt("--nnodes", nnodes, 1);
  checkInt("--node-rank", nodeRank, 0);
  if (nodeRank >= nnodes) throw new LaunchError(`--node-rank ${nodeRank} must be < --nnodes ${nnodes}`);
  if (opts.command.length === 0) throw new LaunchError("no command to launch (put it after --)");
  const baseEnv = opts.env ?? process.env;
  let secret = baseEnv[SECRET_VAR];
  if (!secret) {
    if (nnodes > 1)
      throw new LaunchError(
        `${SECRET_VAR} is not set: multi-node jobs need the same secret exported on every node`,
      );
    // One machine: a fresh per-job secret handed only to our children.
    secret = randomBytes(32).toString("hex");
  }
  const masterAddr = opts.masterAddr ?? "127.0.0.1";
  const masterPort = opts.masterPort ?? (nnodes === 1 ? await freePort(masterAddr) : 29500);
  checkInt("--master-port", masterPort, 1);
  const out = opts.stdout ?? process.stdout;
  const err = opts.stderr ?? process.stderr;
  const world = nnodes * opts.nprocPerNode;
  const graceMs = opts.killGraceMs ?? 5000;

  const children: ChildProcess[] = [];
  const exits: Promise<void>[] = [];
  let result: LaunchResult | null = null;
  let killTimer: NodeJS.Timeout | null = null;
  // Only a child that started has a pid. One whose spawn failed keeps an open handle until its 'error'
  // event, and ChildProcess.kill() on it signals pid 0 (our whole process group) or the failed fork's
  // recycled pid: never signal such a child.
  const running = (c: ChildProcess) => c.pid !== undefined && c.exitCode === null && c.signalCode === null;
  const stopOthers = (signal: NodeJS.Signals) => {
    for (const c of children) if (running(c)) c.kill(signal);
    if (!killTimer) {
      killTimer = setTimeout(() => {
        for (const c of children) if (running(c)) c.kill("SIGKILL");
      }, graceMs);
      killTimer.unref();
    }
  };
  const forward = (signal: NodeJS.Signals) => () => {
    result ??= { code: 128 + (constants.signals[signal] ?? 15), reason: `launcher received ${signal}` };
    stopOthers(signal);
  };
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);

  try {
    for (let local = 0; local < opts.nprocPerNode; local++) {
      const rank = nodeRank * opts.nprocPerNode + local;
      const env = {
        ...baseEnv,
        RANK: String(rank),
        WORLD_SIZE: String(world),
        LOCAL_RANK: String(local),
        LOCAL_WORLD_SIZE: String(opts.nprocPerNode),
        GROUP_RANK: String(nodeRank),
        NODE_RANK: String(nodeRank),
        MASTER_ADDR: masterAddr,
        MASTER_PORT: String(masterPort),
        [SECRET_VAR]: secret,
      };
      const child = spawn(opts.command[0], opts.command.slice(1), {
        env,
        stdio: ["inherit", "pipe", "pipe"],
      });
      children.push(child);
      const streams = Promise.all([
        prefixLines(child.stdout!, out, `[rank ${rank}] `),
        prefixLines(child.stderr!, err, `[rank ${rank}] `),
      ]);
      exits.push(
        new Promise<void>((resolve) => {
          const settle = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
            const failed = spawnError || signal !== null || code !== 0;
            if (failed && !result) {
              const reason = spawnError
                ? `could not start ${opts.command[0]}: ${spawnError.message}`
                : signal
                  ? `signal ${signal}`
                  : `exit code ${code}`;
              result = {
                code: spawnError ? 127 : signal ? 128 + (constants.signals[signal] ?? 0) : code!,
                failedRank: rank,
                reason,
              };
              const others = children.filter((c) => c !== child && running(c)).length;
              err.write(
                `biomed-llama launch: rank ${rank} failed (${reason}); stopping ${others} other rank(s)\n`,
              );
              stopOthers("SIGTERM");
            }
            if (spawnError) resolve();
            else streams.then(() => resolve());
          };
          child.once("error", (e) => settle(null, null, e));
          child.once("exit", (code, signal) => settle(code, signal));
        }),
      );
    }
    await Promise.all(exits);
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    if (killTimer) clearTimeout(killTimer);
  }
  return result ?? { code: 0 };
}

/** The contract's shape: resolves with the job's exit code. */
export async function launch(opts: LaunchOptions): Promise<number> {
  return (await launchJob(opts)).code;
}
