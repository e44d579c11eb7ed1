import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ioError } from "./io-error.js";

/** A temp name beside `path`, unique to this process and call. */
export function tempPathFor(path: string): string {
  const rand = Math.random().toString(36).slice(2, 10);
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${rand}`);
}

/**
 * Writes a whole file or nothing: the bytes go to a temp file beside `path`, are flushed to disk, and
 * the temp file is renamed over `path`. A crash leaves the old file (or none); a failed write (a
 * full disk) removes the temp file and throws one line naming `path`.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(path);
  let fd = -1;
  try {
    fd = openSync(tmp, "wx", 0o644);
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw ioError(e, path);
  }
}
