import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { checkOutput, LOCK_FILE, makeParents, RunLock } from "@biomed-llama/safe-files";
import { listCheckpoints } from "./checkpoint-store.js";
import { CheckpointError } from "./errors.js";

/** The entries a run writes in its directory (trainer, `biomed-llama plot` and `report`, `biomed-eval --output RUN/eval`). */
const RUN_ENTRIES = new Set([
  "config.json",
  "metrics.jsonl",
  "checkpoints",
  "loss.svg",
  "loss.png",
  "report.html",
  "eval",
]);

/**
 * Rank 0's hold on a run directory for one job, taken before any work: the directory's one writer
 * (a RunLock; a second `pretrain` on it is refused naming the first), and what a fresh run may do
 * with what is already there. A fresh run needs an absent or empty `--out`, or `--overwrite` to
 * replace the run in a non-empty one (only the entries a run writes); a directory with checkpoints
 * is a run to continue with `--resume`. A fresh run that fails before its first checkpoint takes
 * back what it created, so the same command can simply be run again.
 */
export class RunDirectory {
  private committed = false;

  private constructor(
    readonly dir: string,
    private readonly lock: RunLock,
    private readonly fresh: boolean,
    private readonly created: boolean,
    private readonly undoParents: () => void,
  ) {}

  static open(
    dir: string,
    opts: { resume: boolean; overwrite?: boolean; command: string; log: (line: string) => void },
  ): RunDirectory {
    if (opts.resume) {
      if (!existsSync(dir)) throw new CheckpointError(`--resume ${dir}: no such run directory`);
      return new RunDirectory(dir, RunLock.acquire(dir, opts.command, opts.log), false, false, () => {});
    }
    if (!opts.overwrite && listCheckpoints(dir).length > 0)
      throw new CheckpointError(
        `--out ${dir}: already holds checkpoints of a run; continue it with --resume ${dir}, pick a new --out, or pass --overwrite to replace it`,
      );
    const state = checkOutput(dir, { flag: "--out", kind: "dir", overwrite: opts.overwrite });
    const undoParents = state === "absent" ? makeParents(join(dir, "..")) : () => {};
    if (state === "absent") mkdirSync(dir);
    let lock: RunLock;
    try {
      lock = RunLock.acquire(dir, opts.command, opts.log);
    } catch (e) {
      if (state === "absent") {
        rmSync(dir, { recursive: true, force: true });
        undoParents();
      }
      throw e;
    }
    const run = new RunDirectory(dir, lock, true, state === "absent", undoParents);
    if (state === "replace") {
      const kept = run.clear();
      opts.log(
        `--overwrite: replaced the run in ${dir}${kept.length ? ` (kept what the run did not write: ${kept.join(", ")})` : ""}`,
      );
    }
    return run;
  }

  /** The run saved a checkpoint: from now on a failure leaves everything for --resume. */
  markCommitted(): void {
    this.committed = true;
  }

  /** Releases the lock; a fresh run that failed before any checkpoint removes what it created. */
  close(failed: boolean): void {
    if (failed && this.fresh && !this.committed) {
      if (this.created) {
        this.lock.release();
        rmSync(this.dir, { recursive: true, force: true });
        this.undoParents();
        return;
      }
      this.clear();
    }
    this.lock.release();
  }

  /**
   * What a run writes in its directory, and nothing else: `--overwrite` replaces the run that was
   * there (as transformers' `overwrite_output_dir` lets a new run take the directory), but files the
   * run did not write — notes, data, anything of the user's — stay where they are.
   */
  private clear(): string[] {
    const kept: string[] = [];
    for (const name of readdirSync(this.dir)) {
      if (name === LOCK_FILE) continue;
      if (RUN_ENTRIES.has(name)) rmSync(join(this.dir, name), { recursive: true, force: true });
      else kept.push(name);
    }
    return kept.sort();
  }
}
