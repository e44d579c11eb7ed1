import {
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
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

/**
 * Appends JSON records one line each, each append one write, so a crash leaves whole lines. A write
 * that fails part-way (a full disk, a file size limit) is cut back to the previous end, and a file
 * the failed append created is removed: only whole lines, or no file, remain.
 */
export class JsonlAppender {
  /** Repairs a torn tail first (see repairJsonlTail). */
  constructor(
    readonly path: string,
    warn: Warn = stderrWarn,
  ) {
    repairJsonlTail(path, warn);
  }

  append(record: unknown): void {
    this.appendLines(`${JSON.stringify(record)}\n`);
  }

  /** Whole lines (`text` ends with "\n"), written or not at all. */
  appendLines(text: string): void {
    const created = !existsSync(this.path);
    let fd = -1;
    let end = -1;
    try {
      fd = openSync(this.path, "a");
      end = fstatSync(fd).size;
      const bytes = Buffer.from(text);
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      if (fd >= 0 && end >= 0)
        try {
          ftruncateSync(fd, end);
        } catch {
          // the next appender drops the torn line with a warning (repairJsonlTail)
        }
      if (fd >= 0) closeSync(fd);
      fd = -1;
      if (created) rmSync(this.path, { force: true });
      throw ioError(e, this.path);
    } finally {
      if (fd >= 0) closeSync(fd);
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
