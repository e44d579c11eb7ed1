import { open } from "node:fs/promises";
import { PileZstdError } from "./errors.js";
import { MAX_WINDOW_LOG, zstd } from "./zstd-binding.js";

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
): AsyncGenerator<RawLine> {
  const fh = await open(file, "r");
  try {
    const input = Buffer.allocUnsafe(READ_SIZE);
    let inStart = 0;
    let inEnd = 0;
    let filePos = from.restart.compressed;
    let eof = false;
    // Compressed offset of the first byte not yet consumed by the decoder.
    let consumed = from.restart.compressed;

    // Decoded bytes: [lineStart, end) is the pending partial line plus unscanned data; buf[0] is at
    // uncompressed offset `base`.
    let buf = Buffer.allocUnsafe(4 * MIN_FREE);
    let base = from.restart.uncompressed;
    let lineStart = 0;
    let end = 0;
    let scan = 0;
    let discard = from.uncompressed - from.restart.uncompressed;
    let lineNo = from.lines;

    // Frame ends seen by the decoder but not yet passed by the line scanner.
    const restarts: RestartPoint[] = [from.restart];
    let restartIdx = 0;

    const dctx = compressed ? new zstd.DCtx() : undefined;
    dctx?.setParameter(zstd.DParameter.windowLogMax, MAX_WINDOW_LOG);
    let inFrame = false;
    let frameStart = consumed;

    const fill = async () => {
      if (inStart === inEnd && !eof) {
        const { bytesRead } = await fh.read(input, 0, READ_SIZE, filePos);
        filePos += bytesRead;
        inStart = 0;
        inEnd = bytesRead;
        if (bytesRead === 0) eof = true;
      }
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

    // Returns false at the end of the file.
    const produce = async (): Promise<boolean> => {
      for (;;) {
        await fill();
        makeRoom();
        if (!dctx) {
          if (inStart === inEnd) return false;
          const n = Math.min(inEnd - inStart, buf.length - end);
          input.copy(buf, end, inStart, inStart + n);
          inStart += n;
          consumed += n;
          end += n;
          return true;
        }
        if (inStart === inEnd && !inFrame) return false;
        let result: [number, number, number];
        try {
          result = dctx.decompressStream(buf.subarray(end), input.subarray(inStart, inEnd));
        } catch (err) {
          throw new PileZstdError(file, consumed, `stream is corrupt (${(err as Error).message})`);
        }
        const [hint, produced, used] = result;
        inStart += used;
        consumed += used;
        end += produced;
        if (used > 0 && !inFrame) {
          inFrame = true;
          frameStart = consumed - used;
        }
        if (hint === 0 && inFrame) {
          inFrame = false;
          restarts.push({ compressed: consumed, uncompressed: base + end });
        }
        if (produced > 0) return true;
        if (inStart === inEnd && eof) {
          if (inFrame)
            throw new PileZstdError(
              file,
              consumed,
              `stream is truncated: the frame starting at byte ${frameStart} ends early`,
            );
          return false;
        }
      }
    };

    for (;;) {
      if (!(await produce())) break;
      if (discard > 0) {
        const n = Math.min(discard, end - lineStart);
        lineStart += n;
        scan = lineStart;
        discard -= n;
        if (discard > 0) continue;
      }
      for (;;) {
        const nl = buf.indexOf(0x0a, scan);
        if (nl < 0 || nl >= end) {
          scan = end;
          break;
        }
        const offset = base + lineStart;
        const next = base + nl + 1;
        while (restartIdx + 1 < restarts.length && restarts[restartIdx + 1].uncompressed <= next)
          restartIdx++;
        lineNo++;
        yield {
          bytes: buf.subarray(lineStart, nl),
          line: lineNo,
          offset,
          restart: dctx ? restarts[restartIdx] : { compressed: next, uncompressed: next },
          compressedRead: consumed,
        };
        lineStart = nl + 1;
        scan = lineStart;
      }
      if (restartIdx > 64) {
        restarts.splice(0, restartIdx);
        restartIdx = 0;
      }
    }
    if (discard > 0)
      throw new PileZstdError(file, consumed, `stream ends before the resume offset ${from.uncompressed}`);
    // A last line without a trailing newline is still a line.
    if (end > lineStart) {
      while (restartIdx + 1 < restarts.length) restartIdx++;
      lineNo++;
      const next = base + end;
      yield {
        bytes: buf.subarray(lineStart, end),
        line: lineNo,
        offset: base + lineStart,
        restart: dctx ? restarts[restartIdx] : { compressed: next, uncompressed: next },
        compressedRead: consumed,
      };
    }
  } finally {
    await fh.close();
  }
}
