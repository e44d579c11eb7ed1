import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { ioError } from "./io-error.js";

/** One file of a checksummed directory: path relative to the directory ("/"-separated). */
export interface FileDigest {
  path: string;
  size: number;
  sha256: string;
}

const CHUNK = 8 << 20;

/** Size and sha256 of one file, read in 8 MiB chunks. */
export function digestFile(path: string): { size: number; sha256: string } {
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(CHUNK);
  let fd = -1;
  let size = 0;
  try {
    fd = openSync(path, "r");
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      size += n;
    }
  } catch (e) {
    throw ioError(e, path);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  return { size, sha256: hash.digest("hex") };
}

/** Every regular file under `dir` (recursively) except those `skip` names, sorted by path. */
export function digestTree(dir: string, skip: (rel: string) => boolean = () => false): FileDigest[] {
  const out: FileDigest[] = [];
  const walk = (d: string) => {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const abs = join(d, ent.name);
      const rel = relative(dir, abs).split(sep).join("/");
      if (skip(rel)) continue;
      if (ent.isDirectory()) walk(abs);
      else if (ent.isFile()) out.push({ path: rel, ...digestFile(abs) });
    }
  };
  walk(dir);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The first way `dir` differs from its digests: a missing file, another size, other bytes — as one
 * line naming the file — or null when every file is as recorded. Sizes are checked for every file
 * before any byte is hashed, so a truncated file is found without reading the others.
 */
export function verifyDigests(dir: string, files: readonly FileDigest[]): string | null {
  for (const f of files) {
    const abs = join(dir, f.path);
    let size: number;
    try {
      size = statSync(abs).size;
    } catch {
      return `${abs}: missing`;
    }
    if (size !== f.size) return `${abs}: ${size} bytes, the manifest says ${f.size} (truncated or rewritten)`;
  }
  for (const f of files) {
    const abs = join(dir, f.path);
    if (digestFile(abs).sha256 !== f.sha256)
      return `${abs}: sha256 differs from the manifest (the file is damaged)`;
  }
  return null;
}

/**
 * Checks a directory against the `files` digests recorded in its manifest (a JSON file in it, e.g. a
 * trainer checkpoint's manifest.json), limited to the paths `include` accepts. Null when every such
 * file matches, or when there is no manifest or it records no digests (a directory from elsewhere);
 * otherwise the first problem as one line naming the file.
 */
export function verifyManifest(
  dir: string,
  manifestName: string,
  include: (path: string) => boolean = () => true,
): string | null {
  const file = join(dir, manifestName);
  if (!existsSync(file)) return null;
  let files: unknown;
  try {
    files = (JSON.parse(readFileSync(file, "utf8")) as { files?: unknown }).files;
  } catch (e) {
    return `${file}: unreadable (${(e as Error).message})`;
  }
  if (!Array.isArray(files)) return null;
  const problem = verifyDigests(
    dir,
    (files as FileDigest[]).filter((f) => typeof f.path === "string" && include(f.path)),
  );
  return problem && `${problem} (checked against ${file})`;
}
