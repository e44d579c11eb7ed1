import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { glob, isDynamicPattern } from "tinyglobby";
import { PileInputError } from "./errors.js";

/** One shard the reader will stream, in the order it will be read. */
export interface PileInputFile {
  path: string;
  /** Size on disk (compressed size for `.zst`), the unit of progress. */
  bytes: number;
  compressed: boolean;
}

const SHARD_RE = /\.jsonl(\.zst|\.zstd)?$/;

export function isZstdPath(path: string): boolean {
  return /\.(zst|zstd)$/.test(path);
}

/**
 * Expands files, directories (recursively, every `*.jsonl` / `*.jsonl.zst`) and globs into a
 * de-duplicated list of absolute paths. Files keep the order they were given in; what one directory
 * or glob expands to is sorted by path, so every rank and every resume sees the same order.
 */
export async function resolvePileInputs(inputs: string | readonly string[]): Promise<PileInputFile[]> {
  const list = typeof inputs === "string" ? [inputs] : [...inputs];
  if (list.length === 0) throw new PileInputError("(inputs)", "no input given");
  const seen = new Set<string>();
  const out: PileInputFile[] = [];
  for (const input of list) {
    const info = await stat(input).catch(() => undefined);
    let paths: string[];
    if (info?.isFile()) {
      paths = [resolve(input)];
    } else if (info?.isDirectory()) {
      const found = await glob("**/*.{jsonl,jsonl.zst,jsonl.zstd}", {
        cwd: resolve(input),
        absolute: true,
        onlyFiles: true,
      });
      paths = found.sort();
      if (paths.length === 0) throw new PileInputError(input, "directory holds no .jsonl or .jsonl.zst file");
    } else if (isDynamicPattern(input)) {
      const found = await glob(input, { absolute: true, onlyFiles: true });
      paths = found.filter((p) => SHARD_RE.test(p)).sort();
      if (paths.length === 0) throw new PileInputError(input, "glob matches no .jsonl or .jsonl.zst file");
    } else {
      throw new PileInputError(input, "no such file or directory");
    }
    for (const path of paths) {
      if (seen.has(path)) continue;
      seen.add(path);
      const bytes = info?.isFile() ? info.size : (await stat(path)).size;
      out.push({ path, bytes, compressed: isZstdPath(path) });
    }
  }
  return out;
}
