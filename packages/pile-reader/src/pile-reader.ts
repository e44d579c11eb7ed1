import { isUtf8 } from "node:buffer";
import { PileCursorError, PileJsonError } from "./errors.js";
import { type PileInputFile, resolvePileInputs } from "./inputs.js";
import { type LineStart, type RawLine, type RestartPoint, readLines } from "./line-source.js";
import { emptyStats, type PileStats, recordDoc } from "./stats.js";
import { THREAD_MIN_BYTES } from "./zstd-source.js";

/** The subsets BioMed-LLaMA trained on. */
export const PUBMED_SUBSETS: readonly string[] = ["PubMed Abstracts", "PubMed Central"];

export interface PileMeta {
  pile_set_name: string;
  [key: string]: unknown;
}

export interface PileDocument {
  text: string;
  meta: PileMeta;
  /** Where the document came from: file path, 1-based line, uncompressed byte offset of the line. */
  source: { file: string; line: number; offset: number };
}

/**
 * Position after the last document handed out. Plain JSON: store it anywhere, pass it back as
 * `cursor` to continue exactly there. `restart` is the zstd frame the read restarts from (the
 * file start for single-frame files, whose bytes before `offset` are decoded again and dropped).
 */
export interface PileCursor {
  version: 1;
  /** Index into the resolved input list, and that file's path (checked on resume). */
  fileIndex: number;
  file: string | null;
  /** Lines of this file already consumed, and the uncompressed offset of the next line. */
  line: number;
  offset: number;
  restart: RestartPoint;
  /** Lines consumed over all files before this position (drives the `line` rank split). */
  globalLine: number;
}

export interface PileReaderOptions {
  /** Files, directories (searched recursively for *.jsonl / *.jsonl.zst) or globs. */
  inputs: string | readonly string[];
  /** `meta.pile_set_name` values to keep; `"all"` keeps every document. */
  subsets?: readonly string[] | "all";
  rank?: number;
  worldSize?: number;
  /**
   * How documents are shared among ranks. `"line"` (default): rank r takes the lines whose
   * global 0-based line index (over all files, in input order, counting every line) is r mod
   * worldSize — balanced, but every rank decompresses every file. `"file"`: rank r reads the
   * files whose index is r mod worldSize — no duplicated decompression, balanced only over many files.
   */
  splitBy?: "line" | "file";
  /** A bad JSON line fails the read (default), or is skipped and counted in `stats().skipped.badLines`. */
  onBadLine?: "fail" | "skip";
  /** Resume from a cursor taken with `cursor()` by a reader with the same inputs and split. */
  cursor?: PileCursor;
  /**
   * Called every `progressEveryLines` lines (default 4096) and after each file, also while no
   * document is kept, so a progress bar moves through subsets that are filtered out.
   */
  onProgress?: (progress: PileProgress) => void;
  progressEveryLines?: number;
  /**
   * Decompress in a worker thread, overlapping decompression with splitting and parsing.
   * Default "auto": for `.zst` files of at least 8 MiB (a thread costs tens of ms to start).
   */
  decodeInThread?: boolean | "auto";
}

export interface PileProgress {
  /** Input bytes (compressed size for .zst) read so far and in total. */
  bytesRead: number;
  totalBytes: number;
  fileIndex: number;
  files: number;
  docs: number;
}

export interface PileReaderState {
  cursor: PileCursor;
  stats: PileStats;
}

const SET_KEY = Buffer.from('"pile_set_name"');

/**
 * The bytes of the last `"pile_set_name": "..."` value in a line, or undefined when it is absent
 * or escaped. A raw `"pile_set_name"` cannot occur inside a JSON string (its quotes would be
 * escaped), and The Pile writes `meta` after `text`, so the last occurrence is the real key.
 */
function peekSetName(bytes: Buffer): Buffer | undefined {
  const k = bytes.lastIndexOf(SET_KEY);
  if (k < 0) return undefined;
  let i = k + SET_KEY.length;
  while (bytes[i] === 0x20 || bytes[i] === 0x09) i++;
  if (bytes[i++] !== 0x3a) return undefined;
  while (bytes[i] === 0x20 || bytes[i] === 0x09) i++;
  if (bytes[i++] !== 0x22) return undefined;
  const q = bytes.indexOf(0x22, i);
  if (q < 0) return undefined;
  const value = bytes.subarray(i, q);
  return value.includes(0x5c) ? undefined : value;
}

function isBlank(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  }
  return true;
}

/**
 * Streams documents out of Pile shards (`{"text": ..., "meta": {"pile_set_name": ...}}` per line),
 * keeping the subsets asked for, split across ranks, resumable from a cursor.
 */
export class PileReader implements AsyncIterable<PileDocument> {
  private readonly subsets: readonly string[] | "all";
  private readonly keep: Buffer[];
  private readonly rank: number;
  private readonly worldSize: number;
  private readonly splitBy: "line" | "file";
  private readonly onBadLine: "fail" | "skip";
  // Validation and decoding are separate because Node 20's fatal TextDecoder is ~4x slower than
  // isUtf8 (simdutf) plus the non-fatal decoder.
  private readonly decoder = new TextDecoder("utf-8");
  private resolved?: Promise<PileInputFile[]>;
  private inputFiles?: PileInputFile[];
  private pos: PileCursor;
  private runningStats: PileStats = emptyStats();
  private bytesBeforeFile = 0;
  private bytesInFile = 0;
  private started = false;

  constructor(private readonly opts: PileReaderOptions) {
    this.subsets = opts.subsets ?? PUBMED_SUBSETS;
    this.keep = this.subsets === "all" ? [] : this.subsets.map((s) => Buffer.from(s));
    this.rank = opts.rank ?? 0;
    this.worldSize = opts.worldSize ?? 1;
    if (!Number.isInteger(this.worldSize) || this.worldSize < 1)
      throw new RangeError(`worldSize must be a positive integer, got ${opts.worldSize}`);
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.worldSize)
      throw new RangeError(`rank must be an integer in [0, ${this.worldSize}), got ${opts.rank}`);
    this.splitBy = opts.splitBy ?? "line";
    this.onBadLine = opts.onBadLine ?? "fail";
    this.pos = opts.cursor
      ? structuredClone(opts.cursor)
      : {
          version: 1,
          fileIndex: 0,
          file: null,
          line: 0,
          offset: 0,
          restart: { compressed: 0, uncompressed: 0 },
          globalLine: 0,
        };
    if (this.pos.version !== 1) throw new PileCursorError(`unsupported cursor version ${this.pos.version}`);
  }

  /** The input files in reading order (resolved once). */
  files(): Promise<PileInputFile[]> {
    this.resolved ??= resolvePileInputs(this.opts.inputs).then((f) => {
      this.inputFiles = f;
      return f;
    });
    return this.resolved;
  }

  /** Position after the last document handed out; feed it to `new PileReader({ ..., cursor })`. */
  cursor(): PileCursor {
    return structuredClone(this.pos);
  }

  /** Running counts since the start (including what a loaded state had counted). */
  stats(): PileStats {
    return structuredClone(this.runningStats);
  }

  /** Input bytes read so far and in total (for rate and ETA), and documents kept. */
  progress(): PileProgress {
    const files = this.inputFiles ?? [];
    return {
      bytesRead: this.bytesBeforeFile + this.bytesInFile,
      totalBytes: files.reduce((s, f) => s + f.bytes, 0),
      fileIndex: Math.min(this.pos.fileIndex, files.length),
      files: files.length,
      docs: this.runningStats.docs,
    };
  }

  stateDict(): PileReaderState {
    return { cursor: this.cursor(), stats: this.stats() };
  }

  /** Restore a state taken with `stateDict()`; only before iteration starts. */
  loadStateDict(state: PileReaderState): void {
    if (this.started) throw new PileCursorError("loadStateDict() must be called before reading starts");
    if (state.cursor.version !== 1)
      throw new PileCursorError(`unsupported cursor version ${state.cursor.version}`);
    this.pos = structuredClone(state.cursor);
    this.runningStats = structuredClone(state.stats);
  }

  [Symbol.asyncIterator](): AsyncGenerator<PileDocument> {
    if (this.started)
      throw new PileCursorError("a PileReader can be iterated once; make a new one from cursor()");
    this.started = true;
    return this.read();
  }

  private async *read(): AsyncGenerator<PileDocument> {
    const files = await this.files();
    const pos = this.pos;
    if (pos.fileIndex > files.length || (pos.file !== null && files[pos.fileIndex]?.path !== pos.file))
      throw new PileCursorError(
        `cursor points at file #${pos.fileIndex} (${pos.file}) but the inputs resolve to ${files[pos.fileIndex]?.path ?? "fewer files"}`,
      );
    for (let i = 0; i < pos.fileIndex; i++) this.bytesBeforeFile += files[i].bytes;
    const onProgress = this.opts.onProgress;
    const every = this.opts.progressEveryLines ?? 4096;
    for (let fi = pos.fileIndex; fi < files.length; fi++) {
      const input = files[fi];
      const resuming = fi === pos.fileIndex && pos.file !== null;
      const from: LineStart = resuming
        ? { restart: pos.restart, uncompressed: pos.offset, lines: pos.line }
        : { restart: { compressed: 0, uncompressed: 0 }, uncompressed: 0, lines: 0 };
      pos.fileIndex = fi;
      pos.file = input.path;
      pos.line = from.lines;
      pos.offset = from.uncompressed;
      pos.restart = from.restart;
      this.bytesInFile = from.restart.compressed;
      if (this.splitBy === "line" || fi % this.worldSize === this.rank) {
        const mode = this.opts.decodeInThread ?? "auto";
        const decodeInThread = mode === "auto" ? input.bytes >= THREAD_MIN_BYTES : mode;
        for await (const raw of readLines(input.path, input.compressed, from, { decodeInThread })) {
          const doc = this.take(raw, input.path);
          pos.line = raw.line;
          pos.offset = raw.next;
          pos.restart = raw.restart;
          pos.globalLine++;
          this.bytesInFile = raw.compressedRead;
          this.runningStats.linesRead++;
          if (onProgress && this.runningStats.linesRead % every === 0) onProgress(this.progress());
          if (doc) yield doc;
        }
      }
      this.bytesBeforeFile += input.bytes;
      this.bytesInFile = 0;
      onProgress?.(this.progress());
      // Past the end of this file: a cursor taken now resumes at the next one.
      pos.fileIndex = fi + 1;
      pos.file = files[fi + 1]?.path ?? null;
      pos.line = 0;
      pos.offset = 0;
      pos.restart = { compressed: 0, uncompressed: 0 };
    }
  }

  private take(raw: RawLine, file: string): PileDocument | undefined {
    const stats = this.runningStats;
    if (this.splitBy === "line" && this.pos.globalLine % this.worldSize !== this.rank) {
      stats.skipped.otherRanks++;
      return undefined;
    }
    const bytes = raw.bytes;
    if (isBlank(bytes)) {
      stats.skipped.blankLines++;
      return undefined;
    }
    if (this.subsets !== "all") {
      const name = peekSetName(bytes);
      if (name && !this.keep.some((k) => k.equals(name))) {
        const key = name.toString("utf8");
        stats.skipped.otherSubsets[key] = (stats.skipped.otherSubsets[key] ?? 0) + 1;
        return undefined;
      }
    }
    if (!isUtf8(bytes)) return this.bad(file, raw.line, "line is not valid UTF-8");
    let parsed: any;
    try {
      parsed = JSON.parse(this.decoder.decode(bytes));
    } catch (err) {
      return this.bad(file, raw.line, `bad JSON line (${(err as Error).message.split("\n")[0]})`);
    }
    if (parsed === null || typeof parsed !== "object" || typeof parsed.text !== "string")
      return this.bad(file, raw.line, 'line is not a JSON object with a string "text"');
    const meta = parsed.meta;
    if (meta === null || typeof meta !== "object" || typeof meta.pile_set_name !== "string")
      return this.bad(file, raw.line, 'line has no string "meta.pile_set_name"');
    const name: string = meta.pile_set_name;
    if (this.subsets !== "all" && !this.subsets.includes(name)) {
      stats.skipped.otherSubsets[name] = (stats.skipped.otherSubsets[name] ?? 0) + 1;
      return undefined;
    }
    recordDoc(stats, name, parsed.text);
    return { text: parsed.text, meta, source: { file, line: raw.line, offset: raw.offset } };
  }

  private bad(file: string, line: number, reason: string): undefined {
    const err = new PileJsonError(file, line, reason);
    if (this.onBadLine === "fail") throw err;
    this.runningStats.skipped.badLines++;
    if (this.runningStats.skipped.firstBadLine === null) this.runningStats.skipped.firstBadLine = err.message;
    return undefined;
  }
}
