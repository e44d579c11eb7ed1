import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ioError } from "./io-error.js";
import { OutputError } from "./output-guard.js";

/**
 * Creates the missing ancestors of `dir` and returns an undo that removes those of them that are
 * still empty, so a failed command leaves no empty directories behind.
 */
export function makeParents(dir: string): () => void {
  const abs = resolve(dir);
  let first: string | undefined;
  try {
    first = mkdirSync(abs, { recursive: true });
  } catch (e) {
    throw ioError(e, abs);
  }
  return () => {
    if (!first) return;
    for (let d = abs; d.length >= first.length; d = dirname(d)) {
      try {
        rmdirSync(d);
      } catch {
        return; // not empty (or gone): stop, the rest is not ours to remove
      }
      if (d === dirname(d)) return;
    }
  };
}

export interface AtomicDirOptions {
  /** An existing non-empty `dir` is replaced (the user passed --overwrite); otherwise it is refused. */
  replace?: boolean;
  /** The flag that named `dir`, for the refusal. */
  flag?: string;
}

/**
 * Builds a directory in a temp directory beside `dir` and renames it into place, so that a crash or
 * an error leaves the old content (or nothing) at `dir`, never a mix; on error the temp directory and
 * any parents it needed are removed and nothing else is touched. An empty directory at `dir` is
 * replaced; a non-empty one only with `replace` (checked again at the rename: another process may
 * have written there while `fill` ran).
 */
export async function writeDirAtomic<T>(
  dir: string,
  fill: (tmp: string) => T | Promise<T>,
  opts: AtomicDirOptions = {},
): Promise<T> {
  const abs = resolve(dir);
  const parent = dirname(abs);
  const undoParents = makeParents(parent);
  const tmp = join(parent, `.${basename(abs)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  let result: T;
  try {
    mkdtempLike(tmp);
    result = await fill(tmp);
    publish(tmp, abs, opts);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    undoParents();
    throw e;
  }
  return result;
}

function mkdtempLike(tmp: string): void {
  try {
    mkdirSync(tmp);
    chmodSync(tmp, 0o755);
  } catch (e) {
    throw ioError(e, tmp);
  }
}

/** Renames a finished temp directory to `abs`, replacing what is there as `opts` allows. */
export function publish(tmp: string, abs: string, opts: AtomicDirOptions = {}): void {
  if (existsSync(abs)) {
    if (readdirSync(abs).length === 0) rmdirSync(abs);
    else if (!opts.replace)
      throw new OutputError(
        `${opts.flag ?? "output"} ${abs}: was created by someone else while this command ran; left as it is (the result is not written)`,
      );
    else {
      const old = mkdtempSync(join(dirname(abs), `.${basename(abs)}.old-`));
      rmdirSync(old);
      renameSync(abs, old);
      renameSync(tmp, abs);
      rmSync(old, { recursive: true, force: true });
      return;
    }
  }
  renameSync(tmp, abs);
}
