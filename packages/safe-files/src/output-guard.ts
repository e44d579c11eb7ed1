import { accessSync, constants, readdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ioError } from "./io-error.js";

/** An output path a command must not write to; the message names the flag and the path. */
export class OutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutputError";
  }
}

export interface OutputSpec {
  /** The flag that named the path, for the message: "--out", "--output". */
  flag: string;
  /** "dir": the command creates a directory there; "file": one file. */
  kind: "dir" | "file";
  /** The user said an existing output may be replaced (`--overwrite`). */
  overwrite?: boolean;
}

/** What is at an output path that checkOutput accepted. */
export type OutputState = "absent" | "empty" | "replace";

/**
 * Checks an output path before any work, the way a user who cannot afford to lose anything
 * expects: nothing there, or an empty directory, is fine; an existing file or non-empty directory
 * is refused unless `overwrite` (and even then a file is never replaced by a directory or the other
 * way round); the nearest existing parent must be a writable directory. Throws one OutputError
 * naming the flag and the path.
 */
export function checkOutput(path: string, spec: OutputSpec): OutputState {
  const where = `${spec.flag} ${path}`;
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw ioError(e, path);
    checkCreatable(path, where);
    return "absent";
  }
  if (spec.kind === "dir") {
    if (!st.isDirectory())
      throw new OutputError(`${where}: exists and is not a directory; pick another path`);
    if (readdirSync(path).length === 0) {
      checkWritable(path, where);
      return "empty";
    }
  } else {
    if (st.isDirectory()) throw new OutputError(`${where}: is a directory; name a file`);
    if (st.size === 0) {
      checkWritable(dirname(resolve(path)), where);
      return "empty";
    }
  }
  if (!spec.overwrite)
    throw new OutputError(
      `${where}: already exists${spec.kind === "dir" ? " and is not empty" : ""}; pass --overwrite to replace it, or pick another path`,
    );
  checkWritable(dirname(resolve(path)), where);
  return "replace";
}

/** The nearest existing ancestor of a path that does not exist yet must be a writable directory. */
function checkCreatable(path: string, where: string): void {
  let dir = dirname(resolve(path));
  for (;;) {
    try {
      if (!statSync(dir).isDirectory()) throw new OutputError(`${where}: ${dir} is not a directory`);
      break;
    } catch (e) {
      if (e instanceof OutputError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== "ENOENT" && code !== "ENOTDIR") || dir === dirname(dir)) throw ioError(e, dir);
      dir = dirname(dir);
    }
  }
  checkWritable(dir, where);
}

function checkWritable(dir: string, where: string): void {
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new OutputError(`${where}: cannot write in ${dir} (permission denied)`);
  }
}
