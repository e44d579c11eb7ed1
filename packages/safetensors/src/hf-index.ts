import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "@biomed-llama/safe-files";
import { DTYPE_BYTES, SafetensorsError, type SafetensorsTensorInfo } from "./header.js";
import { SafetensorsFile, type TensorData } from "./reader.js";
import { type TensorSource, type WriteSafetensorsOptions, writeSafetensorsFrom } from "./writer.js";

export const SINGLE_FILE = "model.safetensors";
export const INDEX_FILE = "model.safetensors.index.json";

/**
 * The tensors of a checkpoint directory, whether one `model.safetensors` or shards listed in
 * `model.safetensors.index.json` (HF's `weight_map`). Files are opened lazily and read tensor by tensor.
 */
export class SafetensorsCheckpoint {
  private readonly files = new Map<string, SafetensorsFile>();
  /** tensor name → file name (relative to dir) */
  readonly weightMap = new Map<string, string>();

  constructor(readonly dir: string) {
    const indexPath = path.join(dir, INDEX_FILE);
    if (fs.existsSync(indexPath)) {
      let index: { weight_map?: Record<string, unknown> };
      try {
        index = JSON.parse(fs.readFileSync(indexPath, "utf8"));
      } catch (e) {
        throw new SafetensorsError(`${indexPath}: not valid JSON (${(e as Error).message})`);
      }
      if (!index || typeof index.weight_map !== "object" || index.weight_map === null)
        throw new SafetensorsError(`${indexPath}: missing "weight_map"`);
      for (const [name, file] of Object.entries(index.weight_map)) {
        if (typeof file !== "string" || file.includes("/") || file.includes("\\"))
          throw new SafetensorsError(
            `${indexPath}: "weight_map.${name}" must be a file name in the same directory`,
          );
        this.weightMap.set(name, file);
      }
      // Every tensor the index names must be in the shard it names, and shards must hold nothing else.
      for (const file of new Set(this.weightMap.values())) {
        const f = this.file(file);
        for (const name of f.tensors.keys())
          if (this.weightMap.get(name) !== file)
            throw new SafetensorsError(
              `${path.join(dir, file)}: tensor "${name}" is not listed for this file in ${INDEX_FILE}`,
            );
      }
      for (const [name, file] of this.weightMap)
        if (!this.file(file).tensors.has(name))
          throw new SafetensorsError(
            `${path.join(dir, file)}: missing tensor "${name}" listed in ${INDEX_FILE}`,
          );
    } else if (fs.existsSync(path.join(dir, SINGLE_FILE))) {
      for (const name of this.file(SINGLE_FILE).tensors.keys()) this.weightMap.set(name, SINGLE_FILE);
    } else {
      throw new SafetensorsError(`${dir}: neither ${SINGLE_FILE} nor ${INDEX_FILE} found`);
    }
  }

  private file(name: string): SafetensorsFile {
    let f = this.files.get(name);
    if (!f) {
      f = new SafetensorsFile(path.join(this.dir, name));
      this.files.set(name, f);
    }
    return f;
  }

  has(name: string): boolean {
    return this.weightMap.has(name);
  }

  /** File path that holds a tensor (for error messages). */
  fileOf(name: string): string {
    const f = this.weightMap.get(name);
    return f ? path.join(this.dir, f) : this.dir;
  }

  info(name: string): SafetensorsTensorInfo {
    const file = this.weightMap.get(name);
    if (!file) throw new SafetensorsError(`${this.dir}: no tensor "${name}"`);
    return this.file(file).tensors.get(name) as SafetensorsTensorInfo;
  }

  read(name: string): TensorData {
    const file = this.weightMap.get(name);
    if (!file) throw new SafetensorsError(`${this.dir}: no tensor "${name}"`);
    return this.file(file).read(name);
  }

  /** Bytes of a tensor's data as stored. */
  byteLength(name: string): number {
    const [b, e] = this.info(name).dataOffsets;
    return e - b;
  }

  /** Raw stored bytes straight into `dest` (see SafetensorsFile.readInto). */
  readInto(name: string, dest: ArrayBufferView, onBytes?: (bytes: number) => void): void {
    this.file(this.fileName(name)).readInto(name, dest, onBytes);
  }

  /** F32/F16/BF16 decoded to float32 straight into `dest` (see SafetensorsFile.readFloat32Into). */
  readFloat32Into(name: string, dest: Float32Array, onBytes?: (bytes: number) => void): void {
    this.file(this.fileName(name)).readFloat32Into(name, dest, onBytes);
  }

  private fileName(name: string): string {
    const file = this.weightMap.get(name);
    if (!file) throw new SafetensorsError(`${this.dir}: no tensor "${name}"`);
    return file;
  }

  close(): void {
    for (const f of this.files.values()) f.close();
    this.files.clear();
  }
}

export interface ShardOptions extends WriteSafetensorsOptions {
  /** Start a new shard before a tensor that would push the current one past this size. Default: no sharding. */
  maxShardBytes?: number;
}

/**
 * Write tensors into `dir` as `model.safetensors`, or as `model-0000i-of-0000n.safetensors` plus
 * `model.safetensors.index.json` when they exceed maxShardBytes (HF's naming and index layout).
 */
export async function writeSafetensorsCheckpoint(
  dir: string,
  src: TensorSource,
  opts: ShardOptions = {},
): Promise<string[]> {
  const bytesPer = DTYPE_BYTES[opts.dtype ?? "F32"];
  const limit = opts.maxShardBytes ?? Number.POSITIVE_INFINITY;
  const shards: { name: string; shape: number[] }[][] = [[]];
  let current = 0;
  let total = 0;
  for (const e of src.entries) {
    const bytes = e.shape.reduce((a, b) => a * b, 1) * bytesPer;
    if (current > 0 && current + bytes > limit) {
      shards.push([]);
      current = 0;
    }
    shards[shards.length - 1].push(e);
    current += bytes;
    total += bytes;
  }
  const metadata = { format: "pt", ...(opts.metadata ?? {}) };
  if (shards.length === 1) {
    await writeSafetensorsFrom(path.join(dir, SINGLE_FILE), src, { ...opts, metadata });
    return [SINGLE_FILE];
  }
  const pad = (i: number) => String(i).padStart(5, "0");
  const names = shards.map((_, i) => `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`);
  const weightMap: Record<string, string> = {};
  for (const [i, entries] of shards.entries()) {
    await writeSafetensorsFrom(path.join(dir, names[i]), { entries, data: src.data }, { ...opts, metadata });
    for (const e of entries) weightMap[e.name] = names[i];
  }
  writeFileAtomic(
    path.join(dir, INDEX_FILE),
    `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`,
  );
  return [...names, INDEX_FILE];
}
