import { type FileHandle, open } from "node:fs/promises";
import { PileCursorError } from "./errors.js";
import { type ByteSource, InlineZstdSource, ThreadedZstdSource } from "./zstd-source.js";

/**
 * A place a read can restart from without decoding what came before: the start of a zstd frame
 * (any line start for plain `.jsonl`). `compressed` is the byte offset in the file, `uncompressed`
 * the offset of the same point in the decoded stream.
 */
export interface RestartPoint {
  compressed: number;
  uncompressed: number;
}

/** Where to start reading a file: restart there, then drop bytes up to `uncompressed` (a line start). */
export interface LineStart {
  restart: RestartPoint;
  uncompressed: number;
  /** Lines before `uncompressed` (so the first line read is line `lines + 1`). */
  lines: number;
}

/**
 * One line without its trailing newline. `bytes` is a view into the reader's buffer, valid only
 * until the next line is requested.
 */
export interface RawLine {
  bytes: Buffer;
  /** 1-based line number in the file. */
  line: number;
  /** Uncompressed byte offset of the line's first byte. */
  offset: number;
  /** Uncompressed byte offset just past the line and its newline: where the next line starts. */
  next: number;
  /** The latest restart point at or before the start of the next line. */
  restart: RestartPoint;
  /** Compressed bytes of the file consumed so far (for progress). */
  compressedRead: number;
}

const READ_SIZE = 1 << 20;
const MIN_FREE = 1 << 20;

/**
 * Streams the lines of one `.jsonl` or `.jsonl.zst` file. Lines are split on 0x0A in the raw bytes
 * and handed out undecoded: a multi-byte UTF-8 character cut by a chunk boundary is therefore never
 * seen half, and a consumer can drop lines it does not want without decoding them.
 */
export async function* readLines(
  file: string,
  compressed: boolean,
  from: LineStart = { restart: { compressed: 0, uncompressed: 0 }, uncompressed: 0, lines: 0 },
  opts: { decodeInThread?: boolean } = {},
): AsyncGenerator<RawLine> {
  const source: ByteSource = !compressed
    ? await PlainSource.open(file, from.restart)
    : opts.decodeInThread
      ? new ThreadedZstdSource(file, from.restart)
      : new InlineZstdSource(file, from.restart);
  try {
    // Decoded bytes: [lineStart, end) is the pending partial line plus unscanned data; buf[0] is at
    // uncompressed offset `base`.
    let buf = Buffer.allocUnsafe(4 * MIN_FREE);
    let base = from.restart.uncompressed;
    let lineStart = 0;
    let end = 0;
    let scan = 0;
    let discard = from.uncompressed - from.restart.uncompressed;
    let lineNo = from.lines;

    // Frame ends passed by the decoder; the scanner hands out the latest one before each line end.
    const restarts: RestartPoint[] = [from.restart];
    let restartIdx = 0;
    const restartFor = (next: number): RestartPoint => {
      if (!compressed) return { compressed: next, uncompressed: next };
      while (restartIdx + 1 < restarts.length && restarts[restartIdx + 1].uncompressed <= next) restartIdx++;
      return restarts[restartIdx];
    };

    const makeRoom = () => {
      if (lineStart > 0 && buf.length - end < MIN_FREE) {
        buf.copy(buf, 0, lineStart, end);
        base += lineStart;
        end -= lineStart;
        scan -= lineStart;
        lineStart = 0;
      }
      if (buf.length - end < MIN_FREE) {
        // One line longer than the buffer: grow instead of splitting it.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, end);
        buf = bigger;
      }
    };

    for (;;) {
      makeRoom();
      const n = await source.read(buf.subarray(end));
      if (n === 0) break;
      end += n;
      for (const r of source.takeRestarts()) restarts.push(r);
      if (discard > 0) {
        const d = Math.min(discard, end - lineStart);
        lineStart += d;
        scan = lineStart;
        discard -= d;
        if (discard > 0) continue;
      }
      for (;;) {
        const nl = buf.indexOf(0x0a, scan);
        if (nl < 0 || nl >= end) {
          scan = end;
          break;
        }
        lineNo++;
        yield {
          bytes: buf.subarray(lineStart, nl),
          line: lineNo,
          offset: base + lineStart,
          next: base + nl + 1,
          restart: restartFor(base + nl + 1),
          compressedRead: source.consumed,
        };
        lineStart = nl + 1;
        scan = lineStart;
      }
      if (restartIdx > 64) {
        restarts.splice(0, restartIdx);
        restartIdx = 0;
      }
    }
    for (const r of source.takeRestarts()) restarts.push(r);
    if (discard > 0)
      throw new PileCursorError(
        `${file}: the cursor's offset ${from.uncompressed} is past the end of the data (${from.uncompressed - discard} bytes)`,
      );
    // A last line without a trailing newline is still a line.
    if (end > lineStart) {
      lineNo++;
      yield {
        bytes: buf.subarray(lineStart, end),
        line: lineNo,
        offset: base + lineStart,
        next: base + end,
        restart: restartFor(base + end),
        compressedRead: source.consumed,
      };
    }
  } finally {
    await source.close();
  }
}

/** Bytes of a plain `.jsonl` file; every line start is a restart point. */
class PlainSource implements ByteSource {
  private constructor(
    private readonly fh: FileHandle,
    public consumed: number,
  ) {}

  static async open(file: string, start: RestartPoint): Promise<PlainSource> {
    return new PlainSource(await open(file, "r"), start.compressed);
  }

  async read(dst: Buffer): Promise<number> {
    const { bytesRead } = await this.fh.read(dst, 0, Math.min(dst.length, READ_SIZE), this.consumed);
    this.consumed += bytesRead;
    return bytesRead;
  }

  takeRestarts(): RestartPoint[] {
    return [];
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
