import {
  closeSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { ioError } from "@biomed-llama/safe-files";
import { IndexedDatasetError } from "./errors.js";

/**
 * Megatron-LM's indexed dataset (megatron/core/datasets/indexed_dataset.py), byte for byte:
 *
 *   PREFIX.idx  "MMIDIDX\0\0" | u64 version = 1 | u8 dtype code | u64 sequence count S
 *               | u64 document count D | int32 sizes[S] | int64 byte pointers[S] | int64 doc index[D]
 *   PREFIX.bin  the tokens of all sequences back to back, little-endian, in the index's dtype.
 *
 * We store one sequence per document, so the document index is [0, 1, …, S] (D = S + 1, the
 * leading 0 as Megatron's builder writes it) and numDocuments = D - 1.
 */
export const MMIDIDX_MAGIC = Buffer.from("MMIDIDX\x00\x00", "latin1");
const HEADER_BYTES = 9 + 8 + 1 + 8 + 8;

/** Megatron's DType enum codes. */
export const DTYPE_CODES = {
  uint8: 1,
  int8: 2,
  int16: 3,
  int32: 4,
  int64: 5,
  float64: 6,
  float32: 7,
  uint16: 8,
};
export type TokenDtype = "uint16" | "int32";

/** uint16 when every id fits, as Megatron's `DType.optimal_dtype(vocab_size)` (cardinality < 65500). */
export function optimalTokenDtype(vocabSize: number): TokenDtype {
  return vocabSize < 65500 ? "uint16" : "int32";
}

function tmpPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
}

/**
 * Streams documents to PREFIX.bin; `finalize()` writes PREFIX.idx. Both are written under
 * temporary names and renamed into place (.bin first, then .idx) only when complete, so a killed
 * job leaves no .idx that points into a partial .bin; an older PREFIX.idx is removed before the new
 * .bin goes in, so it never points into the new one either. A failed write (a full disk, a file
 * size limit) throws one line naming the file and removes the temporary files.
 */
export class IndexedDatasetWriter {
  readonly dtype: TokenDtype;
  private readonly binTmp: string;
  private fd: number | null;
  private readonly sizes: number[] = [];
  private buf: Buffer;
  private used = 0;
  private finalized = false;

  constructor(
    readonly prefix: string,
    opts: { dtype?: TokenDtype; bufferBytes?: number } = {},
  ) {
    this.dtype = opts.dtype ?? "uint16";
    if (this.dtype !== "uint16" && this.dtype !== "int32")
      throw new IndexedDatasetError(`${prefix}.bin`, `dtype must be uint16 or int32, got ${this.dtype}`);
    this.binTmp = tmpPath(`${prefix}.bin`);
    this.buf = Buffer.allocUnsafe(opts.bufferBytes ?? 1 << 22);
    try {
      this.fd = openSync(this.binTmp, "wx");
    } catch (e) {
      throw ioError(e, `${prefix}.bin`);
    }
  }

  get numDocuments(): number {
    return this.sizes.length;
  }

  addDocument(ids: ArrayLike<number>): void {
    if (this.fd === null) throw new IndexedDatasetError(`${this.prefix}.bin`, "writer already finalized");
    const item = this.dtype === "uint16" ? 2 : 4;
    const max = this.dtype === "uint16" ? 0xffff : 0x7fffffff;
    const min = this.dtype === "uint16" ? 0 : -0x80000000;
    if (ids.length > 0x7fffffff)
      throw new IndexedDatasetError(`${this.prefix}.bin`, "document longer than int32 sizes allow");
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < min || id > max)
        throw new IndexedDatasetError(
          `${this.prefix}.bin`,
          `document ${this.sizes.length} token ${i} = ${id} does not fit ${this.dtype}`,
        );
      if (this.used + item > this.buf.length) this.flush();
      if (item === 2) this.buf.writeUInt16LE(id, this.used);
      else this.buf.writeInt32LE(id, this.used);
      this.used += item;
    }
    this.sizes.push(ids.length);
  }

  private flush(): void {
    let off = 0;
    try {
      while (off < this.used) off += writeSync(this.fd!, this.buf, off, this.used - off);
    } catch (e) {
      this.abort();
      throw ioError(e, `${this.prefix}.bin`);
    }
    this.used = 0;
  }

  /** Writes the index and renames both files into place. */
  async finalize(): Promise<void> {
    if (this.finalized) return;
    if (this.fd === null) throw new IndexedDatasetError(`${this.prefix}.bin`, "writer was aborted");
    this.flush();
    const binPath = `${this.prefix}.bin`;
    const idxPath = `${this.prefix}.idx`;
    try {
      closeSync(this.fd);
    } catch (e) {
      this.abort();
      throw ioError(e, binPath);
    }
    this.fd = null;
    const idx = encodeIndex(this.sizes, this.dtype);
    const idxTmp = tmpPath(idxPath);
    let fd = -1;
    try {
      fd = openSync(idxTmp, "wx");
      let off = 0;
      while (off < idx.length) off += writeSync(fd, idx, off, idx.length - off);
      closeSync(fd);
      fd = -1;
    } catch (e) {
      if (fd >= 0) closeSync(fd);
      rmSync(idxTmp, { force: true });
      this.abort();
      throw ioError(e, idxPath);
    }
    try {
      rmSync(idxPath, { force: true });
      renameSync(this.binTmp, binPath);
      renameSync(idxTmp, idxPath);
    } catch (e) {
      rmSync(idxTmp, { force: true });
      this.abort();
      throw ioError(e, this.prefix);
    }
    this.finalized = true;
  }

  /** Drops the temporary file; nothing appears at PREFIX. */
  abort(): void {
    if (this.fd !== null)
      try {
        closeSync(this.fd);
      } catch {
        // closing after a failed write may fail again; the file is removed either way
      }
    this.fd = null;
    rmSync(this.binTmp, { force: true });
  }
}

/** The .idx bytes for one sequence per document. */
export function encodeIndex(sizes: ArrayLike<number>, dtype: TokenDtype): Buffer {
  const s = sizes.length;
  const d = s + 1;
  const out = Buffer.alloc(HEADER_BYTES + 4 * s + 8 * s + 8 * d);
  MMIDIDX_MAGIC.copy(out, 0);
  out.writeBigUInt64LE(1n, 9);
  out.writeUInt8(DTYPE_CODES[dtype], 17);
  out.writeBigUInt64LE(BigInt(s), 18);
  out.writeBigUInt64LE(BigInt(d), 26);
  let o = HEADER_BYTES;
  for (let i = 0; i < s; i++, o += 4) out.writeInt32LE(sizes[i], o);
  const item = BigInt(dtype === "uint16" ? 2 : 4);
  let ptr = 0n;
  for (let i = 0; i < s; i++, o += 8) {
    out.writeBigInt64LE(ptr, o);
    ptr += BigInt(sizes[i]) * item;
  }
  for (let i = 0; i < d; i++, o += 8) out.writeBigInt64LE(BigInt(i), o);
  return out;
}

// Below this the whole .bin is read into memory; above, each get() is one pread at its pointer.
const WHOLE_FILE_BYTES = 64 << 20;

/** Random access to a Megatron indexed dataset (any MMIDIDX files with uint16 or int32 tokens). */
export class IndexedDataset {
  /** Tokens per sequence. */
  readonly sizes: Int32Array;
  /** Byte offset of each sequence in the .bin. */
  readonly pointers: BigInt64Array;
  /** Megatron's document index: sequence ranges [documentIndices[j], documentIndices[j+1]). */
  readonly documentIndices: BigInt64Array;
  readonly dtype: TokenDtype;
  readonly totalTokens: number;
  private fd: number | null = null;
  private whole: Buffer | null = null;

  private constructor(
    readonly prefix: string,
    idx: Buffer,
  ) {
    const file = `${prefix}.idx`;
    if (idx.length < HEADER_BYTES)
      throw new IndexedDatasetError(file, `truncated header (${idx.length} bytes)`);
    if (!idx.subarray(0, 9).equals(MMIDIDX_MAGIC))
      throw new IndexedDatasetError(file, "bad magic, not a Megatron MMIDIDX index");
    const version = idx.readBigUInt64LE(9);
    if (version !== 1n) throw new IndexedDatasetError(file, `unsupported version ${version} (want 1)`);
    const code = idx.readUInt8(17);
    if (code === DTYPE_CODES.uint16) this.dtype = "uint16";
    else if (code === DTYPE_CODES.int32) this.dtype = "int32";
    else throw new IndexedDatasetError(file, `dtype code ${code} is not a token dtype (uint16=8, int32=4)`);
    const s = Number(idx.readBigUInt64LE(18));
    const d = Number(idx.readBigUInt64LE(26));
    const need = HEADER_BYTES + 4 * s + 8 * s + 8 * d;
    // Megatron may append one int8 mode per sequence (multimodal); anything else is corrupt.
    if (idx.length !== need && idx.length !== need + s)
      throw new IndexedDatasetError(file, `expected ${need} bytes for ${s} sequences, found ${idx.length}`);
    // Copy into aligned arrays: the header is 34 bytes, so views into the file would be misaligned.
    const copy = (off: number, bytes: number) => {
      const b = new ArrayBuffer(bytes);
      idx.copy(new Uint8Array(b), 0, off, off + bytes);
      return b;
    };
    this.sizes = new Int32Array(copy(HEADER_BYTES, 4 * s));
    this.pointers = new BigInt64Array(copy(HEADER_BYTES + 4 * s, 8 * s));
    this.documentIndices = new BigInt64Array(copy(HEADER_BYTES + 12 * s, 8 * d));
    let total = 0;
    for (let i = 0; i < s; i++) {
      if (this.sizes[i] < 0) throw new IndexedDatasetError(file, `negative size at sequence ${i}`);
      total += this.sizes[i];
    }
    this.totalTokens = total;
  }

  /** `wholeFileBytes`: read a .bin up to this size into memory (default 64 MiB); larger ones are pread per get(). */
  static open(prefix: string, opts: { wholeFileBytes?: number } = {}): IndexedDataset {
    let idx: Buffer;
    try {
      idx = readFileSync(`${prefix}.idx`);
    } catch (e) {
      throw new IndexedDatasetError(
        `${prefix}.idx`,
        `cannot read (${(e as NodeJS.ErrnoException).code ?? e})`,
      );
    }
    const ds = new IndexedDataset(prefix, idx);
    const bin = `${prefix}.bin`;
    let fd: number;
    try {
      fd = openSync(bin, "r");
    } catch (e) {
      throw new IndexedDatasetError(bin, `cannot read (${(e as NodeJS.ErrnoException).code ?? e})`);
    }
    const size = fstatSync(fd).size;
    const item = ds.dtype === "uint16" ? 2 : 4;
    const n = ds.sizes.length;
    const end = n === 0 ? 0 : Number(ds.pointers[n - 1]) + ds.sizes[n - 1] * item;
    if (size < end) {
      closeSync(fd);
      throw new IndexedDatasetError(bin, `truncated: index needs ${end} bytes, file has ${size}`);
    }
    if (size <= (opts.wholeFileBytes ?? WHOLE_FILE_BYTES)) {
      ds.whole = readFileSync(bin);
      closeSync(fd);
    } else ds.fd = fd;
    return ds;
  }

  /** Number of sequences (one per document for files we write). */
  get numSequences(): number {
    return this.sizes.length;
  }

  get numDocuments(): number {
    return this.documentIndices.length - 1;
  }

  /** The tokens of sequence i, as a fresh array (safe to keep or transfer). */
  get(i: number): Uint16Array | Int32Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.sizes.length)
      throw new RangeError(`sequence ${i} outside [0, ${this.sizes.length}) in ${this.prefix}.idx`);
    const item = this.dtype === "uint16" ? 2 : 4;
    const bytes = this.sizes[i] * item;
    const ptr = Number(this.pointers[i]);
    const ab = new ArrayBuffer(bytes);
    const dst = new Uint8Array(ab);
    if (this.whole) this.whole.copy(dst, 0, ptr, ptr + bytes);
    else {
      if (this.fd === null) throw new IndexedDatasetError(`${this.prefix}.bin`, "dataset is closed");
      let off = 0;
      while (off < bytes) {
        const r = readSync(this.fd, dst, off, bytes - off, ptr + off);
        if (r === 0) throw new IndexedDatasetError(`${this.prefix}.bin`, `short read at byte ${ptr + off}`);
        off += r;
      }
    }
    // The .bin is little-endian, as are the hosts Node runs on.
    return this.dtype === "uint16" ? new Uint16Array(ab) : new Int32Array(ab);
  }

  /**
   * The smallest and largest token id of the whole dataset, read straight from the .bin in 16 MiB
   * blocks instead of one allocation per document through `get` (bench/token-range.ts): what a
   * trainer checks against a model's vocabulary before any work. Megatron's .bin holds the sequences
   * back to back from byte 0, so its first `end` bytes are exactly the token data. `onProgress(done,
   * total)` in bytes after each block. An empty dataset gives { min: 0, max: -1 }.
   */
  tokenRange(onProgress?: (doneBytes: number, totalBytes: number) => void): { min: number; max: number } {
    const item = this.dtype === "uint16" ? 2 : 4;
    const n = this.sizes.length;
    const end = n === 0 ? 0 : Number(this.pointers[n - 1]) + this.sizes[n - 1] * item;
    let min = Number.POSITIVE_INFINITY;
    let max = -1;
    const block = Buffer.allocUnsafe(16 << 20);
    for (let at = 0; at < end; ) {
      const want = Math.min(block.length, end - at);
      let chunk: Buffer;
      if (this.whole) chunk = this.whole.subarray(at, at + want);
      else {
        if (this.fd === null) throw new IndexedDatasetError(`${this.prefix}.bin`, "dataset is closed");
        let off = 0;
        while (off < want) {
          const r = readSync(this.fd, block, off, want - off, at + off);
          if (r === 0) throw new IndexedDatasetError(`${this.prefix}.bin`, `short read at byte ${at + off}`);
          off += r;
        }
        chunk = block.subarray(0, want);
      }
      // a Buffer from readFileSync may start at any byte offset of its pool: copy when misaligned
      const aligned = chunk.byteOffset % item === 0 ? chunk : Buffer.from(chunk);
      const ids =
        item === 2
          ? new Uint16Array(aligned.buffer, aligned.byteOffset, want / 2)
          : new Int32Array(aligned.buffer, aligned.byteOffset, want / 4);
      for (let i = 0; i < ids.length; i++) {
        const v = ids[i];
        if (v > max) max = v;
        if (v < min) min = v;
      }
      at += want;
      onProgress?.(at, end);
    }
    return { min: end === 0 ? 0 : min, max };
  }

  /** The last token of sequence i without reading the rest of it (undefined when empty). */
  lastToken(i: number): number | undefined {
    const n = this.sizes[i];
    if (n === undefined)
      throw new RangeError(`sequence ${i} outside [0, ${this.sizes.length}) in ${this.prefix}.idx`);
    if (n === 0) return undefined;
    const item = this.dtype === "uint16" ? 2 : 4;
    const at = Number(this.pointers[i]) + (n - 1) * item;
    let b: Buffer;
    if (this.whole) b = this.whole.subarray(at, at + item);
    else {
      if (this.fd === null) throw new IndexedDatasetError(`${this.prefix}.bin`, "dataset is closed");
      b = Buffer.alloc(item);
      readSync(this.fd, b, 0, item, at);
    }
    return item === 2 ? b.readUInt16LE(0) : b.readInt32LE(0);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.whole = null;
  }
}
