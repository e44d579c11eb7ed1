import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ioError } from "./io-error.js";

/** The lock file inside a run directory. */
export const LOCK_FILE = "run.lock";

/** Who holds a run directory: written into the lock file as JSON. */
export interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  started: string;
  /** The process's start time in clock ticks since boot (Linux /proc/PID/stat field 22): tells a
   * live owner from a later process that got the same pid. Null where /proc is not available. */
  procStart: string | null;
  /** What took it, e.g. "pretrain". */
  command: string;
}

/** A run directory another live process writes to, or a lock that cannot be judged. */
export class RunLockedError extends Error {
  constructor(
    message: string,
    readonly owner: LockOwner | null,
  ) {
    super(message);
    this.name = "RunLockedError";
  }
}

function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) may hold spaces and parentheses: count from the last ")"
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/** Is the owner (on this host) still the process that took the lock? */
function alive(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const now = procStart(owner.pid);
  return owner.procStart === null || now === null || now === owner.procStart;
}

function describe(o: LockOwner): string {
  return `pid ${o.pid} on ${o.host}, ${o.command}, since ${o.started}`;
}

function readOwner(path: string): LockOwner | null {
  try {
    const o = JSON.parse(readFileSync(path, "utf8")) as LockOwner;
    return typeof o.pid === "number" && typeof o.host === "string" ? o : null;
  } catch {
    return null;
  }
}

/**
 * One writer per run directory. `RunLock.acquire` creates `run.lock` with O_EXCL (atomic on local
 * and NFSv3+ file systems) holding pid, host, start time and command. A second writer gets a
 * RunLockedError naming the holder. A lock left by a process that is gone (same host, pid not
 * running, or running but a different process) is stale: it is taken over, and `onStale` says so.
 * A lock from another host cannot be judged from here: the error names it and the file to remove.
 */
export class RunLock {
  private released = false;

  private constructor(
    readonly path: string,
    private readonly content: string,
  ) {}

  static acquire(dir: string, command: string, onStale?: (message: string) => void): RunLock {
    const path = join(dir, LOCK_FILE);
    const me: LockOwner = {
      pid: process.pid,
      host: hostname(),
      started: new Date().toISOString(),
      procStart: procStart(process.pid),
      command,
    };
    const content = `${JSON.stringify(me)}\n`;
    for (let attempt = 0; attempt < 5; attempt++) {
      let fd: number;
      try {
        fd = openSync(path, "wx", 0o644);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw ioError(e, path);
        const owner = readOwner(path);
        if (!owner) {
          // being written right now, or torn by a crash mid-write: judge by age
          const age = Date.now() - safeMtime(path);
          if (age < 10_000)
            throw new RunLockedError(`${dir}: locked by another process (${path} is being written)`, null);
          if (takeOver(path, null)) onStale?.(`${path}: removed an unreadable lock file left by a crash`);
          continue;
        }
        if (owner.pid === process.pid && owner.host === me.host)
          throw new RunLockedError(`${dir}: already locked by this process (${owner.command})`, owner);
        if (owner.host !== me.host)
          throw new RunLockedError(
            `${dir}: in use by ${describe(owner)}; if that job is gone, remove ${path}`,
            owner,
          );
        if (alive(owner))
          throw new RunLockedError(
            `${dir}: in use by ${describe(owner)}; wait for it to finish or pick another directory`,
            owner,
          );
        if (takeOver(path, owner))
          onStale?.(`${path}: took over a stale lock (${describe(owner)}: no longer running)`);
        continue;
      }
      try {
        writeSync(fd, content);
        fsyncSync(fd);
      } catch (e) {
        closeSync(fd);
        unlinkSync(path);
        throw ioError(e, path);
      }
      closeSync(fd);
      return new RunLock(path, content);
    }
    throw new RunLockedError(`${dir}: could not take ${path} (other processes keep taking it)`, null);
  }

  /** Removes the lock if it is still ours. Safe to call more than once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      if (readFileSync(this.path, "utf8") === this.content) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

function safeMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Moves a stale lock out of the way without ever removing a live one: the lock is renamed to a name
 * of our own, and only if what we moved is the stale lock we judged is it deleted; if another process
 * took the lock in between, its file is linked back (link never replaces) and we report no takeover.
 */
function takeOver(path: string, stale: LockOwner | null): boolean {
  const mine = `${path}.stale-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    renameSync(path, mine);
  } catch {
    return false; // someone else moved it first
  }
  const moved = readOwner(mine);
  const same =
    stale === null ? moved === null : moved !== null && JSON.stringify(moved) === JSON.stringify(stale);
  if (!same) {
    try {
      linkSync(mine, path);
    } catch {
      // a newer lock is already in place; the one we moved is not ours to keep
    }
    unlinkSync(mine);
    return false;
  }
  unlinkSync(mine);
  return true;
}
