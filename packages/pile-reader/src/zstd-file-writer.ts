import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { zstd } from "./zstd-binding.js";

const OUT_SIZE = zstd.cStreamOutSize();
const BATCH = 1 << 20;

/**
 * Writes one zstd frame to `tmpPath` and renames it to `finalPath` on `finish()`, so the final
 * name only ever holds a complete file. Synchronous: callers are batch jobs and the batching of
 * writes into 1 MiB compress calls already amortises the system calls.
 */
export class ZstdFileWriter {
  private readonly cctx = new zstd.CCtx();
  private readonly fd: number;
  private readonly out = Buffer.allocUnsafe(OUT_SIZE);
  private pending = Buffer.allocUnsafe(BATCH);
  private pendingLen = 0;
  compressedBytes = 0;
  uncompressedBytes = 0;

  constructor(
    readonly tmpPath: string,
    readonly finalPath: string,
    level = 3,
  ) {
    this.cctx.setParameter(zstd.CParameter.compressionLevel, level);
    this.cctx.setParameter(zstd.CParameter.checksumFlag, 1);
    this.fd = openSync(tmpPath, "wx");
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
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.tmpPath, this.finalPath);
  }

  /** Drop the temporary file. */
  abort(): void {
    try {
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
        writeSync(this.fd, this.out, 0, produced);
        this.compressedBytes += produced;
      }
      if (end === zstd.EndDirective.continue ? input.length === 0 : remaining === 0) return;
    }
  }
}
