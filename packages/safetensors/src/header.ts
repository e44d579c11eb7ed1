/**
 * The safetensors header: an 8-byte little-endian length, then that many bytes of UTF-8 JSON mapping
 * each tensor name to `{ dtype, shape, data_offsets }` (byte offsets into the data section that follows),
 * plus an optional `__metadata__` object of strings.
 */

/** Bytes per element of every dtype the format defines (we decode F32/F16/BF16/F64/I32/I64, write F32/BF16). */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
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

/** The dtypes our writer stores; values are handed to it as float32 either way. */
export type WritableDtype = "F32" | "BF16";

/** The reference implementation refuses headers above 100 MB; so do we, before allocating anything. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsTensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range relative to the start of the data section. */
  dataOffsets: [number, number];
}

/** Anything wrong with a safetensors file or with what is to be written as one; the message names the file. */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

const isShape = (shape: unknown): shape is number[] =>
  Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);

const numelOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Parses and validates a header (the JSON bytes after the length), following the reference
 * implementation's checks; `dataBytes` is the size of the data section, which the tensors must tile.
 */
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
  if (!isObject(json)) throw new SafetensorsError(`${file}: header must be a JSON object`);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const [name, entry] of Object.entries(json)) {
    if (name === "__metadata__") {
      if (!isObject(entry))
        throw new SafetensorsError(`${file}: "__metadata__" must be an object of strings`);
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== "string")
          throw new SafetensorsError(`${file}: "__metadata__.${k}" must be a string, got ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `${file}: tensor "${name}"`;
    if (!isObject(entry)) throw new SafetensorsError(`${where}: entry must be an object`);
    const { dtype, shape, data_offsets } = entry;
    if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES))
      throw new SafetensorsError(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
    if (!isShape(shape))
      throw new SafetensorsError(`${where}: "shape" must be a list of non-negative integers`);
    if (
      !Array.isArray(data_offsets) ||
      data_offsets.length !== 2 ||
      !data_offsets.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      data_offsets[1] < data_offsets[0]
    )
      throw new SafetensorsError(`${where}: "data_offsets" must be [begin, end] with 0 ≤ begin ≤ end`);
    const bytes = numelOf(shape) * DTYPE_BYTES[dtype];
    const span = data_offsets[1] - data_offsets[0];
    if (bytes !== span)
      throw new SafetensorsError(
        `${where}: shape [${shape}] × ${dtype} is ${bytes} bytes but data_offsets span ${span}`,
      );
    tensors.set(name, { name, dtype, shape, dataOffsets: [data_offsets[0], data_offsets[1]] });
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

/**
 * The length and JSON header of a file holding `entries` in this order, all of `dtype`, laid end to
 * end; `__metadata__` (when given) comes first. `file` only names the file in errors: a tensor named
 * `__metadata__`, a name given twice, a shape that is not a list of non-negative integers, or metadata
 * that is not all strings would make a file no reader accepts, and are refused here.
 */
export function encodeSafetensorsHeader(
  file: string,
  entries: readonly { name: string; shape: readonly number[] }[],
  opts: { dtype?: WritableDtype; metadata?: Record<string, string> } = {},
): Buffer {
  const dtype = opts.dtype ?? "F32";
  if (dtype !== "F32" && dtype !== "BF16") throw new SafetensorsError(`${file}: cannot write dtype ${dtype}`);
  const header: Record<string, unknown> = {};
  if (opts.metadata) {
    for (const [k, v] of Object.entries(opts.metadata))
      if (typeof v !== "string")
        throw new SafetensorsError(`${file}: metadata "${k}" must be a string, got ${typeof v}`);
    header.__metadata__ = opts.metadata;
  }
  let offset = 0;
  for (const { name, shape } of entries) {
    if (name === "__metadata__") throw new SafetensorsError(`${file}: a tensor cannot be named __metadata__`);
    if (Object.hasOwn(header, name)) throw new SafetensorsError(`${file}: tensor "${name}" is given twice`);
    if (!isShape(shape))
      throw new SafetensorsError(
        `${file}: tensor "${name}": shape [${shape}] is not a list of non-negative integers`,
      );
    const bytes = numelOf(shape) * DTYPE_BYTES[dtype];
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
