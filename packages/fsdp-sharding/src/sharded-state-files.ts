import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ShardingError } from "./errors.js";
import type { ShardedState, ShardingStrategy, UnitSpec } from "./types.js";

/**
 * One safetensors file per shard rank (`shard-00001-of-00004.safetensors`, F32 1-D tensors named
 * `<unit>::<field>`, our metadata in `__metadata__`) plus `fsdp-manifest.json`, which is written last:
 * a directory without a manifest is an interrupted save. safetensors so the shards open with any
 * safetensors reader for inspection.
 */
export const SHARD_MANIFEST_FILE = "fsdp-manifest.json";

export function shardFileName(rank: number, size: number): string {
  const pad = (n: number) => String(n).padStart(5, "0");
  return `shard-${pad(rank)}-of-${pad(size)}.safetensors`;
}

function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Writes this rank's shard file. Call on one replica per shard rank (see `isReplicaLeader`). */
export function writeShardFile(dir: string, state: ShardedState): string {
  mkdirSync(dir, { recursive: true });
  const header: Record<string, unknown> = {
    __metadata__: {
      format: state.format,
      strategy: state.strategy,
      shard_rank: String(state.shardRank),
      shard_size: String(state.shardSize),
      units: JSON.stringify(state.units),
    },
  };
  let off = 0;
  const names = Object.keys(state.tensors).sort();
  for (const name of names) {
    const n = state.tensors[name].byteLength;
    header[name] = { dtype: "F32", shape: [state.tensors[name].length], data_offsets: [off, off + n] };
    off += n;
  }
  let json = JSON.stringify(header);
  // safetensors pads the header with spaces so the data starts 8-byte aligned.
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headBytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + headBytes.length + off);
  out.writeBigUInt64LE(BigInt(headBytes.length), 0);
  headBytes.copy(out, 8);
  let pos = 8 + headBytes.length;
  for (const name of names) {
    const t = state.tensors[name];
    Buffer.from(t.buffer, t.byteOffset, t.byteLength).copy(out, pos);
    pos += t.byteLength;
  }
  const file = shardFileName(state.shardRank, state.shardSize);
  writeAtomic(join(dir, file), out);
  return file;
}

/** Written by one rank after every shard file is in place (e.g. after a barrier). */
export function writeShardManifest(
  dir: string,
  info: { strategy: ShardingStrategy; shardSize: number; units: UnitSpec[] },
): void {
  const files = Array.from({ length: info.shardSize }, (_, r) => shardFileName(r, info.shardSize));
  const present = new Set(readdirSync(dir));
  for (const f of files)
    if (!present.has(f)) throw new ShardingError(`${join(dir, f)} is missing; cannot write manifest`);
  writeAtomic(
    join(dir, SHARD_MANIFEST_FILE),
    `${JSON.stringify({ format: "biomed-llama-fsdp/1", strategy: info.strategy, shardSize: info.shardSize, files, units: info.units }, null, 2)}\n`,
  );
}

function readShardFile(path: string): ShardedState {
  const buf = readFileSync(path);
  if (buf.length < 8) throw new ShardingError(`${path}: too short for a safetensors file`);
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) throw new ShardingError(`${path}: header length ${n} exceeds the file`);
  let header: any;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  } catch {
    throw new ShardingError(`${path}: header is not JSON`);
  }
  const meta = header.__metadata__ ?? {};
  if (meta.format !== "biomed-llama-fsdp/1")
    throw new ShardingError(`${path}: not a biomed-llama FSDP shard`);
  const tensors: Record<string, Float32Array> = {};
  const base = 8 + n;
  for (const [name, v] of Object.entries<any>(header)) {
    if (name === "__metadata__") continue;
    if (v.dtype !== "F32")
      throw new ShardingError(`${path}: tensor ${name} has dtype ${v.dtype}, expected F32`);
    const [a, b] = v.data_offsets as [number, number];
    if (b < a || base + b > buf.length || (b - a) % 4 !== 0)
      throw new ShardingError(`${path}: tensor ${name} has bad data_offsets`);
    tensors[name] = new Float32Array(buf.buffer.slice(buf.byteOffset + base + a, buf.byteOffset + base + b));
  }
  return {
    format: "biomed-llama-fsdp/1",
    strategy: meta.strategy,
    shardRank: Number(meta.shard_rank),
    shardSize: Number(meta.shard_size),
    units: JSON.parse(meta.units),
    tensors,
  };
}

/** Reads every shard listed in the manifest, ready for `ShardedDataParallel.loadShardedStateDict`. */
export function readShardedStates(dir: string): ShardedState[] {
  let manifest: any;
  try {
    manifest = JSON.parse(readFileSync(join(dir, SHARD_MANIFEST_FILE), "utf8"));
  } catch (e) {
    throw new ShardingError(
      `${join(dir, SHARD_MANIFEST_FILE)}: ${(e as NodeJS.ErrnoException).code ?? "unreadable"} (incomplete save?)`,
    );
  }
  if (!Array.isArray(manifest.files))
    throw new ShardingError(`${join(dir, SHARD_MANIFEST_FILE)}: field "files" is missing`);
  return manifest.files.map((f: string) => readShardFile(join(dir, f)));
}
