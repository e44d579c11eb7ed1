import * as fs from "node:fs";
import { decode16Into, decodeToFloat32 } from "./convert.js";
import {
  MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  SafetensorsError,
  type SafetensorsTensorInfo,
} from "./header.js";

/** Positioned reads of tensor data are at most this many bytes each (progress is reported per chunk). */
export const READ_CHUNK_BYTES = 64 * 1024 * 1024;

export interface TensorData {
  shape: number[];
  data: Float32Array;
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
        throw new SafetensorsError(
          `${path}: ${size} bytes, too short for a safetensors file (shorter than the 8-byte header length)`,
        );
      const lenBuf = Buffer.alloc(8);
      this.readExactly(fd, lenBuf, 0, "the header length");
      const n = lenBuf.readBigUInt64LE(0);
      if (n > BigInt(MAX_HEADER_BYTES))
        throw new SafetensorsError(`${path}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
      if (Number(n) + 8 > size)
        throw new SafetensorsError(`${path}: header length ${n} runs past the end of the ${size}-byte file`);
      const header = Buffer.alloc(Number(n));
      this.readExactly(fd, header, 8, "the header");
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

  /** Fills `dest` from byte `position` of the file, at most one chunk per read; `what` names it in errors. */
  private readExactly(fd: number, dest: Uint8Array, position: number, what: string): void {
    let done = 0;
    while (done < dest.length) {
      const want = Math.min(dest.length - done, this.chunk);
      const r = fs.readSync(fd, dest, done, want, position + done);
      if (r === 0) throw new SafetensorsError(`${this.path}: ${what} is truncated`);
      done += r;
    }
  }

  private tensor(name: string): SafetensorsTensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new SafetensorsError(`${this.path}: no tensor "${name}"`);
    if (this.fd === null) throw new SafetensorsError(`${this.path}: file is closed`);
    return info;
  }

  /** Reads bytes [from, from + dest.length) of a tensor's data into dest (positioned reads, no copy). */
  private readRange(name: string, info: SafetensorsTensorInfo, from: number, dest: Uint8Array): void {
    const pos = this.dataStart + info.dataOffsets[0] + from;
    this.readExactly(this.fd as number, dest, pos, `tensor "${name}"`);
  }

  /** The raw little-endian bytes of one tensor. */
  readBytes(name: string): Uint8Array {
    const info = this.tensor(name);
    const out = new Uint8Array(info.dataOffsets[1] - info.dataOffsets[0]);
    this.readRange(name, info, 0, out);
    return out;
  }

  /**
   * The raw little-endian bytes of one tensor read straight into `dest` (e.g. native bfloat16 storage for
   * a BF16 tensor, or a Float32Array for an F32 one), whose byte length must be the tensor's; in chunks
   * of `chunkBytes`, each reported to `onBytes` (bytes read by that chunk). Nothing else is allocated.
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
    const info = this.tensor(name);
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

/** Opens `file` and checks its whole header; tensors are read on demand. Close it when done. */
export function openSafetensors(file: string, opts: { chunkBytes?: number } = {}): SafetensorsFile {
  return new SafetensorsFile(file, opts);
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
