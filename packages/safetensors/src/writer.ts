import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { ioError, tempPathFor } from "@biomed-llama/safe-files";
import { float32ToBf16Bits } from "./convert.js";
import { encodeSafetensorsHeader, SafetensorsError, type WritableDtype } from "./header.js";
import type { TensorData } from "./reader.js";

/** Largest single write: one tensor of a 1.1B model (or of a rank's optimizer shard) can exceed what one syscall moves. */
const WRITE_CHUNK_BYTES = 64 * 1024 * 1024;

export interface WriteSafetensorsOptions {
  /** Stored dtype; values are given as float32 either way. Default "F32". */
  dtype?: WritableDtype;
  metadata?: Record<string, string>;
}

/**
 * Entries known up front (the header comes first), data pulled one tensor at a time — a promise where
 * the values come from a device that reads asynchronously (WebGPU).
 */
export interface TensorSource {
  entries: { name: string; shape: number[] }[];
  data(name: string): Float32Array | Promise<Float32Array>;
}

async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, off, Math.min(WRITE_CHUNK_BYTES, bytes.length - off));
    off += bytesWritten;
  }
}

/**
 * Writes `src` into `target`, fsynced; errors name `file` (the path the caller asked for, which is
 * `target` itself or the file a temp file will be renamed to).
 */
async function writeTo(
  target: string,
  file: string,
  src: TensorSource,
  opts: WriteSafetensorsOptions,
): Promise<void> {
  const dtype = opts.dtype ?? "F32";
  const header = encodeSafetensorsHeader(file, src.entries, { dtype, metadata: opts.metadata });
  let fh: FileHandle | null = null;
  try {
    // Asynchronous writes: a rank hosting the rendezvous store keeps answering while it writes gigabytes.
    fh = await open(target, "w");
    await writeAll(fh, header);
    for (const { name, shape } of src.entries) {
      const data = await src.data(name);
      if (Object.prototype.toString.call(data) !== "[object Float32Array]")
        throw new SafetensorsError(`${file}: tensor "${name}" is not a Float32Array`);
      const numel = shape.reduce((a, b) => a * b, 1);
      if (data.length !== numel)
        throw new SafetensorsError(
          `${file}: tensor "${name}" has ${data.length} values, shape [${shape}] needs ${numel}`,
        );
      // F32 goes out from the caller's own buffer (a view of a larger one is fine): no copy is made.
      const raw = dtype === "BF16" ? float32ToBf16Bits(data) : data;
      await writeAll(fh, new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
    }
    await fh.sync();
    const done = fh;
    fh = null;
    await done.close();
  } catch (e) {
    await fh?.close().catch(() => {});
    // Node's own errors for writes through a descriptor name no file ("ENOSPC: ..., write").
    throw ioError(e, file);
  }
}

/**
 * Writes into `file` directly (no temp file), tensor by tensor as `src` hands them over, then fsyncs:
 * for callers that write into a temp directory and publish it whole. An I/O error rejects as one line
 * naming `file` (`<file>: no space left on device (ENOSPC)`, errno `.code` kept).
 */
export async function writeSafetensorsFrom(
  file: string,
  src: TensorSource,
  opts: WriteSafetensorsOptions = {},
): Promise<void> {
  await writeTo(file, file, src, opts);
}

/**
 * Writes a safetensors file atomically: a temp file beside `file`, fsynced, renamed over it — the old
 * file or the new one, never a torn one. Each tensor is written from its own buffer (pass live buffers
 * and leave them alone until the promise settles). On error the temp file is removed and the error names
 * `file`.
 */
export async function writeSafetensors(
  file: string,
  tensors: Map<string, TensorData>,
  opts: WriteSafetensorsOptions = {},
): Promise<void> {
  const src: TensorSource = {
    entries: [...tensors].map(([name, t]) => ({ name, shape: t.shape })),
    data: (name) => (tensors.get(name) as TensorData).data,
  };
  const tmp = tempPathFor(file);
  try {
    await writeTo(tmp, file, src, opts);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw ioError(e, file);
  }
}
