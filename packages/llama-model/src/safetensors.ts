import * as fs from "node:fs";
import * as path from "node:path";
import { ioError, withPath } from "@biomed-llama/safe-files";

/** dtypes the safetensors format defines; we decode F32/F16/BF16 (and integers) and write F32/BF16. */
const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

export type SafetensorsDtype = "F32" | "F16" | "BF16";

/** Positioned reads of tensor data are at most this many bytes each (progress is reported per chunk). */
export const READ_CHUNK_BYTES = 64 * 1024 * 1024;

/** The reference implementation refuses headers above 100 MB; so do we, before allocating anything. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsTensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range relative to the start of the data section. */
  dataOffsets: [number, number];
}

export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

export interface TensorData {
  shape: number[];
  data: Float32Array;
}

/** Parse and validate a header; `fileSize` bounds the data section. Exported for tests. */
export function parseSafetensorsHeader(
  file: string,
  headerBytes: Uint8Array,
  dataBytes: number,
): { tensors: Map<string, SafetensorsTensorInfo>; metadata: Record<string, string> } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw new SafetensorsError(`${file}: header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json))
    throw new SafetensorsError(`${file}: header must be a JSON object`);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (entry === null || typeof entry !== "object" || Array.isArray(entry))
        throw new SafetensorsError(`${file}: "__metadata__" must be an object of strings`);
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== "string")
          throw new SafetensorsError(`${file}: "__metadata__.${k}" must be a string, got ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `${file}: tensor "${name}"`;
    if (entry === null || typeof entry !== "object")
      throw new SafetensorsError(`${where}: entry must be an object`);
    const { dtype, shape, data_offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES))
      throw new SafetensorsError(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new SafetensorsError(`${where}: "shape" must be a list of non-negative integers`);
    if (
      !Array.isArray(data_offsets) ||
      data_offsets.length !== 2 ||
      !data_offsets.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      data_offsets[1] < data_offsets[0]
    )
      throw new SafetensorsError(`${where}: "data_offsets" must be [begin, end] with 0 ≤ begin ≤ end`);
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    const span = data_offsets[1] - data_offsets[0];
    if (numel * DTYPE_BYTES[dtype] !== span)
      throw new SafetensorsError(
        `${where}: shape [${shape}] × ${dtype} is ${numel * DTYPE_BYTES[dtype]} bytes but data_offsets span ${span}`,
      );
    tensors.set(name, {
      name,
      dtype,
      shape: shape as number[],
      dataOffsets: [data_offsets[0], data_offsets[1]],
    });
  }
  // Offsets must tile the data section exactly: no gap, no overlap, nothing after the last tensor.
  const sorted = [...tensors.values()].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0]);
  let cursor = 0;
  for (const t of sorted) {
    if (t.dataOffsets[0] !== cursor)
      throw new SafetensorsError(
        `${file}: tensor "${t.name}" starts at byte ${t.dataOffsets[0]} of the data, expected ${cursor} (${t.dataOffsets[0] < cursor ? "overlap" : "gap"})`,
      );
    cursor = t.dataOffsets[1];
  }
  if (cursor !== dataBytes)
    throw new SafetensorsError(
      `${file}: tensors cover ${cursor} bytes but the data section has ${dataBytes}`,
    );
  return { tensors, metadata };
}

const F16_TABLE = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return t;
})();

/** F16 or BF16 values → float32, written to dest from element `at` on. */
function decode16Into(dtype: "F16" | "BF16", src: Uint16Array, dest: Float32Array, at = 0): void {
  if (dtype === "BF16") {
    const bits = new Uint32Array(dest.buffer, dest.byteOffset, dest.length);
    for (let i = 0; i < src.length; i++) bits[at + i] = src[i] << 16;
  } else for (let i = 0; i < src.length; i++) dest[at + i] = F16_TABLE[src[i]];
}

/** Little-endian bytes of one tensor → float32 values. */
export function decodeToFloat32(dtype: string, bytes: Uint8Array, where: string): Float32Array {
  // Copy into a fresh, aligned buffer: typed-array views need an offset that is a multiple of the size.
  const buf = new Uint8Array(bytes.length);
  buf.set(bytes);
  switch (dtype) {
    case "F32":
      return new Float32Array(buf.buffer);
    case "F16":
    case "BF16": {
      const src = new Uint16Array(buf.buffer);
      const out = new Float32Array(src.length);
      decode16Into(dtype, src, out);
      return out;
    }
    case "F64":
      return Float32Array.from(new Float64Array(buf.buffer));
    case "I32":
      return Float32Array.from(new Int32Array(buf.buffer));
    case "I64":
      return Float32Array.from(new BigInt64Array(buf.buffer), (v) => Number(v));
    default:
      throw new SafetensorsError(`${where}: cannot convert dtype ${dtype} to float32`);
  }
}

/** float32 → bfloat16 bits, round to nearest even (what torch's .bfloat16() does); NaN stays NaN. */
export function float32ToBf16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    if ((b & 0x7fffffff) > 0x7f800000) out[i] = (b >>> 16) | 0x0040;
    else out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/**
 * A safetensors file opened for reading tensor by tensor (positioned reads; the file is never loaded
 * whole, so a 7B checkpoint needs one float32 tensor of scratch, not a second copy of the model).
 */
export class SafetensorsFile {
  readonly tensors: Map<string, SafetensorsTensorInfo>;
  readonly metadata: Record<string, string>;
  private fd: number | null;
  private readonly dataStart: number;
  private readonly chunk: number;

  /** `chunkBytes`: largest single read (default READ_CHUNK_BYTES; a positive even number). */
  constructor(
    readonly path: string,
    opts: { chunkBytes?: number } = {},
  ) {
    this.chunk = opts.chunkBytes ?? READ_CHUNK_BYTES;
    if (!Number.isSafeInteger(this.chunk) || this.chunk < 2 || this.chunk % 2 !== 0)
      throw new SafetensorsError(`${path}: chunkBytes must be a positive even integer, got ${this.chunk}`);
    let fd: number;
    try {
      fd = fs.openSync(path, "r");
    } catch (e) {
      throw new SafetensorsError(
        `${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < 8)
        throw new SafetensorsError(`${path}: file is ${size} bytes, shorter than the 8-byte header length`);
      const lenBuf = Buffer.alloc(8);
      fs.readSync(fd, lenBuf, 0, 8, 0);
      const n = lenBuf.readBigUInt64LE(0);
      if (n > BigInt(MAX_HEADER_BYTES))
        throw new SafetensorsError(`${path}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
      if (Number(n) + 8 > size)
        throw new SafetensorsError(`${path}: header length ${n} runs past the end of the ${size}-byte file`);
      const header = Buffer.alloc(Number(n));
      fs.readSync(fd, header, 0, header.length, 8);
      this.dataStart = 8 + header.length;
      const parsed = parseSafetensorsHeader(path, header, size - this.dataStart);
      this.tensors = parsed.tensors;
      this.metadata = parsed.metadata;
      this.fd = fd;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** The raw little-endian bytes of one tensor. */
  readBytes(name: string): Uint8Array {
    const info = this.tensors.get(name);
    if (!info) throw new SafetensorsError(`${this.path}: no tensor "${name}"`);
    if (this.fd === null) throw new SafetensorsError(`${this.path}: file is closed`);
    const [b, e] = info.dataOffsets;
    const out = new Uint8Array(e - b);
    let done = 0;
    while (done < out.length) {
      const r = fs.readSync(this.fd, out, done, out.length - done, this.dataStart + b + done);
      if (r === 0) throw new SafetensorsError(`${this.path}: tensor "${name}" is truncated`);
      done += r;
    }
    return out;
  }

  private tensor(name: string): SafetensorsTensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new SafetensorsError(`${this.path}: no tensor "${name}"`);
    if (this.fd === null) throw new SafetensorsError(`${this.path}: file is closed`);
    return info;
  }

  /** Reads bytes [from, from + dest.length) of a tensor's data into dest (positioned reads, no copy). */
  private readRange(name: string, info: SafetensorsTensorInfo, from: number, dest: Uint8Array): void {
    let done = 0;
    while (done < dest.length) {
      const want = Math.min(dest.length - done, this.chunk);
      const pos = this.dataStart + info.dataOffsets[0] + from + done;
      const r = fs.readSync(this.fd as number, dest, done, want, pos);
      if (r === 0) throw new SafetensorsError(`${this.path}: tensor "${name}" is truncated`);
      done += r;
    }
  }

  /**
   * The raw little-endian bytes of one tensor read straight into `dest` (e.g. native bfloat16 storage for
   * a BF16 tensor), whose byte length must be the tensor's; in chunks of `chunkBytes`, each reported
   * to `onBytes` (bytes read by that chunk). Nothing else is allocated.
   */
  readInto(name: string, dest: ArrayBufferView, onBytes?: (bytes: number) => void): void {
    const info = this.tensor(name);
    const size = info.dataOffsets[1] - info.dataOffsets[0];
    if (dest.byteLength !== size)
      throw new SafetensorsError(
        `${this.path}: tensor "${name}" has ${size} bytes, the destination ${dest.byteLength}`,
      );
    const bytes = new Uint8Array(dest.buffer, dest.byteOffset, dest.byteLength);
    for (let at = 0; at < size; at += this.chunk) {
      const n = Math.min(this.chunk, size - at);
      this.readRange(name, info, at, bytes.subarray(at, at + n));
      onBytes?.(n);
    }
  }

  /**
   * One F32, F16 or BF16 tensor decoded to float32 straight into `dest` (numel long): F32 bytes are read
   * into it directly, F16/BF16 through a scratch buffer of one chunk, so no whole-tensor temporary exists.
   */
  readFloat32Into(name: string, dest: Float32Array, onBytes?: (bytes: number) => void): void {
    const info = this.tensor(name);
    const numel = info.shape.reduce((a, b) => a * b, 1);
    if (dest.length !== numel)
      throw new SafetensorsError(
        `${this.path}: tensor "${name}" has ${numel} values, the destination ${dest.length}`,
      );
    if (info.dtype === "F32") {
      this.readInto(name, dest, onBytes);
      return;
    }
    if (info.dtype !== "BF16" && info.dtype !== "F16")
      throw new SafetensorsError(
        `${this.path}: tensor "${name}": cannot stream dtype ${info.dtype} as float32`,
      );
    const per = this.chunk / 2;
    const scratch = new Uint16Array(Math.min(per, numel));
    const scratchBytes = new Uint8Array(scratch.buffer);
    for (let at = 0; at < numel; at += per) {
      const n = Math.min(per, numel - at);
      this.readRange(name, info, at * 2, scratchBytes.subarray(0, n * 2));
      decode16Into(info.dtype, scratch.subarray(0, n), dest, at);
      onBytes?.(n * 2);
    }
  }

  /** One tensor as float32 (F32, F16, BF16, F64, I32, I64 accepted). */
  read(name: string): TensorData {
    const info = this.tensors.get(name);
    if (!info) throw new SafetensorsError(`${this.path}: no tensor "${name}"`);
    return {
      shape: info.shape,
      data: decodeToFloat32(info.dtype, this.readBytes(name), `${this.path}: tensor "${name}"`),
    };
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

export function openSafetensors(file: string): SafetensorsFile {
  return new SafetensorsFile(file);
}

/** Every tensor of a file as float32 (small files; use openSafetensors to stream big ones). */
export function readSafetensors(file: string): Map<string, TensorData> {
  const f = new SafetensorsFile(file);
  try {
    const out = new Map<string, TensorData>();
    for (const name of f.tensors.keys()) out.set(name, f.read(name));
    return out;
  } finally {
    f.close();
  }
}

export interface WriteSafetensorsOptions {
  /** Stored dtype; values are given as float32 either way. Default "F32". */
  dtype?: "F32" | "BF16";
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

export function headerFor(
  entries: { name: string; shape: number[] }[],
  dtype: "F32" | "BF16",
  metadata?: Record<string, string>,
): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const { name, shape } of entries) {
    const bytes = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces to 8 bytes, as the reference writer does, so the data section stays aligned.
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const body = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + body.length);
  out.writeBigUInt64LE(BigInt(body.length), 0);
  body.copy(out, 8);
  return out;
}

/** Write into `file` directly (no temp file): callers that need atomicity write into a temp dir. */
export async function writeSafetensorsFrom(
  file: string,
  src: TensorSource,
  opts: WriteSafetensorsOptions = {},
): Promise<void> {
  const dtype = opts.dtype ?? "F32";
  if (dtype !== "F32" && dtype !== "BF16") throw new SafetensorsError(`${file}: cannot write dtype ${dtype}`);
  // Node's own errors for writes through a descriptor name no file ("ENOSPC: ..., write"): every
  // errno error of this file is rethrown as one line naming it.
  const fd = withPath(file, () => fs.openSync(file, "w"));
  try {
    writeAll(fd, file, headerFor(src.entries, dtype, opts.metadata));
    for (const { name, shape } of src.entries) {
      const data = await src.data(name);
      const numel = shape.reduce((a, b) => a * b, 1);
      if (data.length !== numel)
        throw new SafetensorsError(
          `${file}: tensor "${name}" has ${data.length} values, shape [${shape}] needs ${numel}`,
        );
      const raw = dtype === "BF16" ? float32ToBf16Bits(data) : data;
      writeAll(fd, file, new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
    }
    withPath(file, () => fs.fsyncSync(fd));
  } finally {
    withPath(file, () => fs.closeSync(fd));
  }
}

function writeAll(fd: number, file: string, bytes: Uint8Array): void {
  let off = 0;
  try {
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
  } catch (e) {
    throw ioError(e, file);
  }
}

/** Write a safetensors file atomically (temp file in the same directory, then rename). */
export async function writeSafetensors(
  file: string,
  tensors: Map<string, TensorData>,
  opts: WriteSafetensorsOptions = {},
): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  try {
    await writeSafetensorsFrom(
      tmp,
      {
        entries: [...tensors].map(([name, t]) => ({ name, shape: t.shape })),
        data: (name) => (tensors.get(name) as TensorData).data,
      },
      opts,
    );
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    // name the file the caller asked for, not the temporary one
    throw ioError(e instanceof Error ? Object.assign(e, { message: e.message.replace(tmp, file) }) : e, file);
  }
}
