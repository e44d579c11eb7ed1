import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { ioError } from "@biomed-llama/safe-files";
import { PileError } from "./errors.js";
import { zstd } from "./zstd-binding.js";

const OUT_SIZE = zstd.cStreamOutSize();
const BATCH = 1 << 20;

/**
 * The compression levels the writer takes: 1 (fastest) to libzstd's maximum (22, the `zstd
 * --ultra` range). libzstd itself clamps anything above the maximum silently and reads 0 as "the
 * default", so a typo like 99 would otherwise go unnoticed.
 */
export const ZSTD_MIN_LEVEL = 1;
export const ZSTD_MAX_LEVEL: number = zstd.maxCLevel();

/** Throws a PileError unless `level` is a whole number in [ZSTD_MIN_LEVEL, ZSTD_MAX_LEVEL]. */
export function checkZstdLevel(level: number): number {
  if (!Number.isInteger(level) || level < ZSTD_MIN_LEVEL || level > ZSTD_MAX_LEVEL)
    throw new PileError(
      `zstd level must be a whole number from ${ZSTD_MIN_LEVEL} to ${ZSTD_MAX_LEVEL}, got ${level}`,
    );
  return level;
}

/**
 * Writes one zstd frame to `tmpPath` and renames it to `finalPath` on `finish()`, so the final
 * name only ever holds a complete file. Synchronous: callers are batch jobs and the batching of
 * writes into 1 MiB compress calls already amortises the system calls. A failed write (a full
 * disk, a file size limit) throws one line naming the file (by its final name, the one a user
 * knows); `abort()` then removes the temporary file.
 */
export class ZstdFileWriter {
  private readonly cctx = new zstd.CCtx();
  private readonly fd: number;
  private readonly out = Buffer.allocUnsafe(OUT_SIZE);
  private pending = Buffer.allocUnsafe(BATCH);
  private pendingLen = 0;
  private closed = false;
  compressedBytes = 0;
  uncompressedBytes = 0;

  constructor(
    readonly tmpPath: string,
    readonly finalPath: string,
    level = 3,
  ) {
    this.cctx.setParameter(zstd.CParameter.compressionLevel, checkZstdLevel(level));
    this.cctx.setParameter(zstd.CParameter.checksumFlag, 1);
    try {
      this.fd = openSync(tmpPath, "wx");
    } catch (e) {
      throw ioError(e, tmpPath);
    }
  }

  write(data: Buffer): void {
    this.uncompressedBytes += data.length;
    if (this.pendingLen + data.length > this.pending.length) {
      this.flushPending(zstd.EndDirective.continue);
      if (data.length > this.pending.length) {
        this.compress(data, zstd.EndDirective.continue);
        return;
      }
    }
    data.copy(this.pending, this.pendingLen);
    this.pendingLen += data.length;
  }

  /** End the frame, fsync, rename into place. */
  finish(): void {
    this.flushPending(zstd.EndDirective.end);
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.closed = true;
      renameSync(this.tmpPath, this.finalPath);
    } catch (e) {
      throw ioError(e, this.finalPath);
    }
  }

  /** Drop the temporary file. */
  abort(): void {
    if (!this.closed)
      try {
        this.closed = true;
        closeSync(this.fd);
      } catch {
        // already closed
      }
    rmSync(this.tmpPath, { force: true });
  }

  private flushPending(end: number): void {
    this.compress(this.pending.subarray(0, this.pendingLen), end);
    this.pendingLen = 0;
  }

  private compress(src: Buffer, end: number): void {
    let input = src;
    for (;;) {
      const [remaining, produced, consumed] = this.cctx.compressStream2(this.out, input, end);
      input = input.subarray(consumed);
      if (produced > 0) {
        let off = 0;
        try {
          while (off < produced) off += writeSync(this.fd, this.out, off, produced - off);
        } catch (e) {
          throw ioError(e, this.finalPath);
        }
        this.compressedBytes += produced;
      }
      if (end === zstd.EndDirective.continue ? input.length === 0 : remaining === 0) return;
    }
  }
}
