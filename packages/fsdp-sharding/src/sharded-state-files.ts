import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { ioError, tempPathFor } from "@biomed-llama/safe-files";
import { ShardingError } from "./errors.js";
import type { ShardedState } from "./types.js";

/**
 * One rank's `ShardedState` as a safetensors file: the tensors as F32 1-D tensors named
 * `<unit>::<field>` in the state's order, and the rest of the state (format, strategy, shard rank and
 * size, units) as JSON in the `__metadata__` key `sharded_state`, next to whatever string metadata the
 * caller adds (the trainer's `loop`). The trainer's checkpoints (`train_state/rank-*.safetensors`) are
 * these files; any safetensors reader opens them for inspection.
 */
export const SHARDED_STATE_KEY = "sharded_state";

const FORMAT = "biomed-llama-fsdp/1";
/** safetensors' own reader refuses headers above 100 MB; so do we, before allocating anything. */
const MAX_HEADER_BYTES = 100_000_000;
/** Largest single write or read: a tensor of a 1.1B model's shard can exceed what one syscall moves. */
const IO_CHUNK_BYTES = 64 * 1024 * 1024;

/** `rank-00001-of-00004.safetensors`: the file of rank 1 of 4. */
export function shardedStateFileName(rank: number, size: number): string {
  const pad = (n: number) => String(n).padStart(5, "0");
  return `rank-${pad(rank)}-of-${pad(size)}.safetensors`;
}

/** What `readShardedStateFile` returns: the state and the caller's metadata (without `sharded_state`). */
export interface ShardedStateFile {
  state: ShardedState;
  metadata: Record<string, string>;
}

/** The 8-byte length, then the JSON header padded with spaces to a multiple of 8 bytes. */
function encodeHeader(file: string, state: ShardedState, metadata: Record<string, string>): Buffer {
  if (SHARDED_STATE_KEY in metadata)
    throw new ShardingError(`${file}: metadata key "${SHARDED_STATE_KEY}" is the state's own`);
  const { tensors, ...info } = state;
  const header: Record<string, unknown> = {
    __metadata__: { [SHARDED_STATE_KEY]: JSON.stringify(info), ...metadata },
  };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === "__metadata__") throw new ShardingError(`${file}: a tensor cannot be named __metadata__`);
    if (Object.prototype.toString.call(t) !== "[object Float32Array]")
      throw new ShardingError(`${file}: tensor ${name} is not a Float32Array`);
    header[name] = { dtype: "F32", shape: [t.length], data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const body = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + body.length);
  out.writeBigUInt64LE(BigInt(body.length), 0);
  body.copy(out, 8);
  return out;
}

async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, off, Math.min(IO_CHUNK_BYTES, bytes.length - off));
    off += bytesWritten;
  }
}

/**
 * Writes one rank's state to `file` (temp file in the same directory, fsync, rename). The tensors are
 * written from the state's own buffers, one after the other — pass live buffers
 * (`shardedStateDict(extra, { copy: false })`) and leave them alone until the promise settles; no copy
 * of the file is ever held in memory. `metadata`: more `__metadata__` strings (not `sharded_state`).
 * Errors of the file system reject as one line naming `file` (`<file>: no space left on device
 * (ENOSPC)`), with the errno `.code` kept; the temp file is removed.
 */
export async function writeShardedStateFile(
  file: string,
  state: ShardedState,
  opts: { metadata?: Record<string, string> } = {},
): Promise<void> {
  const header = encodeHeader(file, state, opts.metadata ?? {});
  const tmp = tempPathFor(file);
  let fh: FileHandle | null = null;
  try {
    fh = await open(tmp, "w");
    await writeAll(fh, header);
    for (const t of Object.values(state.tensors))
      await writeAll(fh, new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
    await fh.sync();
    const done = fh;
    fh = null;
    await done.close();
    await rename(tmp, file);
  } catch (e) {
    await fh?.close().catch(() => {});
    await rm(tmp, { force: true });
    throw ioError(e, file);
  }
}

function readExactly(fd: number, file: string, dest: Uint8Array, position: number): void {
  let done = 0;
  while (done < dest.length) {
    const want = Math.min(IO_CHUNK_BYTES, dest.length - done);
    const n = readSync(fd, dest, done, want, position + done);
    if (n === 0) throw new ShardingError(`${file}: ends early`);
    done += n;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** The state header stored under `sharded_state`, checked field by field. */
function parseStateInfo(file: string, json: string | undefined): Omit<ShardedState, "tensors"> {
  if (json === undefined)
    throw new ShardingError(`${file}: no "${SHARDED_STATE_KEY}" metadata (not a sharded-state file)`);
  let info: unknown;
  try {
    info = JSON.parse(json);
  } catch {
    throw new ShardingError(`${file}: "${SHARDED_STATE_KEY}" metadata is not JSON`);
  }
  if (!isObject(info)) throw new ShardingError(`${file}: "${SHARDED_STATE_KEY}" metadata is not an object`);
  if (info.format !== FORMAT)
    throw new ShardingError(`${file}: sharded state format ${JSON.stringify(info.format)} is unknown`);
  const { shardRank, shardSize } = info;
  if (
    !Number.isSafeInteger(shardSize) ||
    (shardSize as number) < 1 ||
    !Number.isSafeInteger(shardRank) ||
    (shardRank as number) < 0 ||
    (shardRank as number) >= (shardSize as number)
  )
    throw new ShardingError(
      `${file}: shard rank ${shardRank} of ${shardSize} is not a rank of a shard group`,
    );
  if (typeof info.strategy !== "string" || !Array.isArray(info.units))
    throw new ShardingError(`${file}: "${SHARDED_STATE_KEY}" lacks the strategy or the units`);
  return info as unknown as Omit<ShardedState, "tensors">;
}

/**
 * Reads one file written by `writeShardedStateFile` (each tensor straight into its own Float32Array;
 * the file is never loaded whole). Anything that is not such a file is a ShardingError naming it.
 */
export function readShardedStateFile(file: string): ShardedStateFile {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new ShardingError(
      `${file}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new ShardingError(`${file}: ${size} bytes, too short for a safetensors file`);
    const len = Buffer.alloc(8);
    readExactly(fd, file, len, 0);
    const n = len.readBigUInt64LE(0);
    if (n > BigInt(MAX_HEADER_BYTES))
      throw new ShardingError(`${file}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    if (n > BigInt(size - 8))
      throw new ShardingError(`${file}: header length ${n} runs past the end of the ${size}-byte file`);
    const headerBytes = Buffer.alloc(Number(n));
    readExactly(fd, file, headerBytes, 8);
    let header: unknown;
    try {
      header = JSON.parse(headerBytes.toString("utf8"));
    } catch {
      throw new ShardingError(`${file}: header is not JSON`);
    }
    if (!isObject(header)) throw new ShardingError(`${file}: header is not a JSON object`);
    const rawMeta = header.__metadata__ ?? {};
    if (!isObject(rawMeta) || !Object.values(rawMeta).every((v) => typeof v === "string"))
      throw new ShardingError(`${file}: "__metadata__" is not an object of strings`);
    const { [SHARDED_STATE_KEY]: stateJson, ...metadata } = rawMeta as Record<string, string>;
    const info = parseStateInfo(file, stateJson);

    const dataStart = 8 + Number(n);
    const entries: { name: string; numel: number; begin: number; end: number }[] = [];
    for (const [name, v] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const e = isObject(v) ? v : {};
      const shape = e.shape as unknown;
      const offsets = e.data_offsets as unknown;
      if (e.dtype !== "F32" || !Array.isArray(shape) || shape.length !== 1 || !Number.isSafeInteger(shape[0]))
        throw new ShardingError(
          `${file}: tensor ${name} is ${JSON.stringify(e.dtype)} of shape ${JSON.stringify(shape)}, not a 1-D F32 tensor`,
        );
      if (
        !Array.isArray(offsets) ||
        offsets.length !== 2 ||
        !offsets.every((x) => Number.isSafeInteger(x)) ||
        offsets[0] < 0 ||
        offsets[1] - offsets[0] !== shape[0] * 4
      )
        throw new ShardingError(
          `${file}: tensor ${name}: data_offsets ${JSON.stringify(offsets)} do not fit its shape`,
        );
      entries.push({ name, numel: shape[0], begin: offsets[0], end: offsets[1] });
    }
    // The tensors must tile the data section: no gap, no overlap, nothing after the last one.
    let cursor = 0;
    for (const t of [...entries].sort((a, b) => a.begin - b.begin)) {
      if (t.begin !== cursor)
        throw new ShardingError(
          `${file}: tensor ${t.name} starts at byte ${t.begin} of the data, expected ${cursor}`,
        );
      cursor = t.end;
    }
    if (cursor !== size - dataStart)
      throw new ShardingError(
        `${file}: the tensors cover ${cursor} bytes, the data section has ${size - dataStart}`,
      );

    const tensors: Record<string, Float32Array> = {};
    for (const t of entries) {
      const data = new Float32Array(t.numel);
      readExactly(fd, file, new Uint8Array(data.buffer), dataStart + t.begin);
      tensors[t.name] = data;
    }
    return { state: { ...info, tensors }, metadata };
  } finally {
    closeSync(fd);
  }
}

/** Reads the files of every shard rank (any order; replica duplicates allowed), for `loadShardedStateDict`. */
export function readShardedStateFiles(files: readonly string[]): ShardedState[] {
  return files.map((f) => readShardedStateFile(f).state);
}
