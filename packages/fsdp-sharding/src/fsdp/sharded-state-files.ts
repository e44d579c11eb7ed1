import {
  openSafetensors,
  SafetensorsError,
  type SafetensorsFile,
  type TensorData,
  writeSafetensors,
} from "@biomed-llama/safetensors";
import { ShardingError } from "../errors.js";
import type { ShardedState } from "./types.js";

/**
 * One rank's `ShardedState` as a safetensors file: the tensors as F32 1-D tensors named
 * `<unit>::<field>` in the state's order, and the rest of the state (format, strategy, shard rank and
 * size, units) as JSON in the `__metadata__` key `sharded_state`, next to whatever string metadata the
 * caller adds (the trainer's `loop`). The trainer's checkpoints (`train_state/rank-*.safetensors`) are
 * these files; any safetensors reader opens them for inspection. The format itself (header, checks,
 * streamed atomic writes, positioned reads) is `@biomed-llama/safetensors`'; this file adds what makes
 * such a file a rank's state, and reports every error as a ShardingError naming the file.
 */
export const SHARDED_STATE_KEY = "sharded_state";

const FORMAT = "biomed-llama-fsdp/1";

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

/** The format's own errors (a bad header, a truncated tensor) as this package's, naming the same file. */
function asShardingError(e: unknown): unknown {
  return e instanceof SafetensorsError ? new ShardingError(e.message) : e;
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
  const metadata = opts.metadata ?? {};
  if (SHARDED_STATE_KEY in metadata)
    throw new ShardingError(`${file}: metadata key "${SHARDED_STATE_KEY}" is the state's own`);
  const { tensors, ...info } = state;
  const data = new Map<string, TensorData>();
  for (const [name, t] of Object.entries(tensors)) data.set(name, { shape: [t.length], data: t });
  try {
    await writeSafetensors(file, data, {
      metadata: { [SHARDED_STATE_KEY]: JSON.stringify(info), ...metadata },
    });
  } catch (e) {
    throw asShardingError(e);
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
  let f: SafetensorsFile;
  try {
    f = openSafetensors(file);
  } catch (e) {
    throw asShardingError(e);
  }
  try {
    const { [SHARDED_STATE_KEY]: stateJson, ...metadata } = f.metadata;
    const info = parseStateInfo(file, stateJson);
    for (const t of f.tensors.values())
      if (t.dtype !== "F32" || t.shape.length !== 1)
        throw new ShardingError(
          `${file}: tensor ${t.name} is ${JSON.stringify(t.dtype)} of shape ${JSON.stringify(t.shape)}, not a 1-D F32 tensor`,
        );
    const tensors: Record<string, Float32Array> = {};
    for (const t of f.tensors.values()) {
      const data = new Float32Array(t.shape[0]);
      f.readInto(t.name, data);
      tensors[t.name] = data;
    }
    return { state: { ...info, tensors }, metadata };
  } catch (e) {
    throw asShardingError(e);
  } finally {
    f.close();
  }
}

/** Reads the files of every shard rank (any order; replica duplicates allowed), for `loadShardedStateDict`. */
export function readShardedStateFiles(files: readonly string[]): ShardedState[] {
  return files.map((f) => readShardedStateFile(f).state);
}
