import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  truncateSync,
} from "node:fs";
import { writeFileAtomic } from "./atomic-file.js";
import { ioError } from "./io-error.js";

/** Says what was dropped from a log or cache and why (default: a line on stderr). */
export type Warn = (message: string) => void;

const stderrWarn: Warn = (m) => process.stderr.write(`warning: ${m}\n`);

/**
 * Cuts a torn last line (a crash in the middle of an append) off a JSONL file so that the next
 * append starts a line of its own instead of being glued onto it. Returns the bytes dropped.
 */
export function repairJsonlTail(path: string, warn: Warn = stderrWarn): number {
  if (!existsSync(path)) return 0;
  let fd = -1;
  try {
    fd = openSync(path, "r+");
    const size = fstatSync(fd).size;
    if (size === 0) return 0;
    // find the last "\n", reading backwards in 64 KiB blocks
    const block = Buffer.allocUnsafe(65536);
    let end = size;
    let keep = 0;
    while (end > 0) {
      const start = Math.max(0, end - block.length);
      const n = readSync(fd, block, 0, end - start, start);
      const i = block.subarray(0, n).lastIndexOf(10);
      if (i >= 0) {
        keep = start + i + 1;
        break;
      }
      end = start;
    }
    if (keep === size) return 0;
    ftruncateSync(fd, keep);
    warn(`${path}: dropped a torn last line (${size - keep} bytes, an interrupted write)`);
    return size - keep;
  } catch (e) {
    throw ioError(e, path);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Appends JSON records one line each; each append is one write, so a crash leaves whole lines. */
export class JsonlAppender {
  /** Repairs a torn tail first (see repairJsonlTail). */
  constructor(
    readonly path: string,
    warn: Warn = stderrWarn,
  ) {
    repairJsonlTail(path, warn);
  }

  /** One line; a write that fails part-way (a full disk) is cut back off, so only whole lines remain. */
  append(record: unknown): void {
    let before = 0;
    try {
      before = existsSync(this.path) ? statSync(this.path).size : 0;
      appendFileSync(this.path, `${JSON.stringify(record)}\n`);
    } catch (e) {
      try {
        truncateSync(this.path, before);
      } catch {
        // nothing was written
      }
      throw ioError(e, this.path);
    }
  }
}

/**
 * Every record of a JSONL file. A last line without its newline, or one that is not JSON, is a torn
 * write: dropped with a warning. A bad line anywhere else is damage, not a crash: an error naming
 * the file and line.
 */
export function readJsonl(path: string, warn: Warn = stderrWarn): unknown[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw ioError(e, path);
  }
  const lines = text.split("\n");
  const complete = text.endsWith("\n") || text === "";
  const out: unknown[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const last = complete ? i === lines.length - 2 : i === lines.length - 1;
    if (line.trim() === "") continue;
    try {
      if (last && !complete) throw new Error("no newline");
      out.push(JSON.parse(line));
    } catch (e) {
      if (last) {
        warn(`${path}: ignored a torn last line ${i + 1} (an interrupted write)`);
        continue;
      }
      throw new Error(`${path}: line ${i + 1} is not JSON (${(e as Error).message})`);
    }
  }
  return out;
}

/**
 * Rewrites a JSONL file keeping the records `keep` accepts (e.g. a resumed run drops the steps
 * logged after its checkpoint), atomically. Returns how many records were dropped.
 */
export function filterJsonl(
  path: string,
  keep: (record: unknown) => boolean,
  warn: Warn = stderrWarn,
): number {
  if (!existsSync(path)) return 0;
  const records = readJsonl(path, warn);
  const kept = records.filter(keep);
  if (kept.length === records.length && readFileSync(path, "utf8").endsWith("\n")) return 0;
  writeFileAtomic(path, kept.map((r) => `${JSON.stringify(r)}\n`).join(""));
  return records.length - kept.length;
}
