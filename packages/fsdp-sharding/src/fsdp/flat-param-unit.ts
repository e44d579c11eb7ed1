import { ShardingError } from "../errors.js";
import type { ParamSpec } from "./types.js";

function numelOf(p: ParamSpec): number {
  let n = 1;
  for (const d of p.shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShardingError(`parameter ${p.name}: bad shape [${p.shape}]`);
    n *= d;
  }
  return n;
}

/**
 * FSDP's FlatParameter: a unit's parameters concatenated in the given order into one buffer, padded with
 * zeros to a multiple of the shard-group size so it splits into equal chunks; rank r owns chunk r.
 */
export class FlatParamUnit {
  readonly params: readonly ParamSpec[];
  /** Start of each parameter inside the flat buffer. */
  readonly offsets: ReadonlyMap<string, { offset: number; numel: number; shape: number[] }>;
  /** Real elements (without padding). */
  readonly numel: number;
  readonly paddedNumel: number;
  readonly chunkSize: number;

  constructor(
    readonly name: string,
    params: ParamSpec[],
    readonly shardSize: number,
  ) {
    if (!Number.isInteger(shardSize) || shardSize < 1)
      throw new ShardingError(`unit ${name}: shard size ${shardSize}`);
    if (params.length === 0) throw new ShardingError(`unit ${name} has no parameters`);
    const offsets = new Map<string, { offset: number; numel: number; shape: number[] }>();
    let off = 0;
    for (const p of params) {
      if (offsets.has(p.name)) throw new ShardingError(`unit ${name}: parameter ${p.name} listed twice`);
      const n = numelOf(p);
      offsets.set(p.name, { offset: off, numel: n, shape: [...p.shape] });
      off += n;
    }
    this.params = params.map((p) => ({ name: p.name, shape: [...p.shape] }));
    this.offsets = offsets;
    this.numel = off;
    this.chunkSize = Math.ceil(off / shardSize);
    this.paddedNumel = this.chunkSize * shardSize;
  }

  /** Throws (naming the parameter) unless every parameter of the unit is present with the right length. */
  check(tensors: ReadonlyMap<string, Float32Array>, what = "tensor"): void {
    for (const [name, { numel }] of this.offsets) {
      const t = tensors.get(name);
      if (!t) throw new ShardingError(`unit ${this.name}: ${what} for parameter ${name} is missing`);
      if (t.length !== numel)
        throw new ShardingError(
          `unit ${this.name}: ${what} ${name} has ${t.length} elements, expected ${numel}`,
        );
    }
  }

  /**
   * Concatenates `tensors` (every parameter of the unit must be present) into a zero-padded buffer: a new
   * one, or `out` (paddedNumel elements, overwritten, padding zeroed) so a caller can reuse one buffer.
   */
  flatten(tensors: ReadonlyMap<string, Float32Array>, what = "tensor", out?: Float32Array): Float32Array {
    if (out && out.length !== this.paddedNumel)
      throw new ShardingError(
        `unit ${this.name}: flatten into ${out.length} elements, expected ${this.paddedNumel}`,
      );
    this.check(tensors, what);
    const flat = out ?? new Float32Array(this.paddedNumel);
    for (const [name, { offset }] of this.offsets) flat.set(tensors.get(name) as Float32Array, offset);
    if (out) out.fill(0, this.numel);
    return flat;
  }

  /**
   * Splits a full flat buffer back into its parameters (padding dropped): copies, or with `views` windows
   * into `flat` itself (valid as long as `flat` holds these values).
   */
  unflatten(
    flat: Float32Array,
    into: Map<string, Float32Array> = new Map(),
    opts: { views?: boolean } = {},
  ): Map<string, Float32Array> {
    if (flat.length < this.numel)
      throw new ShardingError(
        `unit ${this.name}: flat buffer has ${flat.length} elements, expected ${this.numel}`,
      );
    for (const [name, { offset, numel }] of this.offsets)
      into.set(name, opts.views ? flat.subarray(offset, offset + numel) : flat.slice(offset, offset + numel));
    return into;
  }

  /** The view of chunk `r` inside a full padded flat buffer. */
  chunk(flat: Float32Array, r: number): Float32Array {
    if (r < 0 || r >= this.shardSize)
      throw new ShardingError(`unit ${this.name}: no chunk ${r} of ${this.shardSize}`);
    return flat.subarray(r * this.chunkSize, (r + 1) * this.chunkSize);
  }

  /** Which global flat range chunk `r` covers (end exclusive; may reach into padding). */
  chunkRange(r: number): { start: number; end: number } {
    return { start: r * this.chunkSize, end: (r + 1) * this.chunkSize };
  }

  /** The same unit split for a different shard-group size (used to reshard checkpoints). */
  withShardSize(shardSize: number): FlatParamUnit {
    return new FlatParamUnit(this.name, [...this.params], shardSize);
  }
}

/**
 * Re-chunks a unit saved as `oldChunks` (one per old rank, in order) for a new shard size. Padding is
 * dropped before re-padding, so any world size can load any other's shards.
 */
export function reshardChunks(
  unit: FlatParamUnit,
  oldChunks: Float32Array[],
  newShardSize: number,
): Float32Array[] {
  let total = 0;
  for (const c of oldChunks) total += c.length;
  if (total < unit.numel)
    throw new ShardingError(
      `unit ${unit.name}: saved chunks hold ${total} elements, the unit needs ${unit.numel}`,
    );
  const target = unit.withShardSize(newShardSize);
  const flat = new Float32Array(target.paddedNumel);
  let off = 0;
  for (const c of oldChunks) {
    const take = Math.min(c.length, unit.numel - off);
    if (take <= 0) break;
    flat.set(c.subarray(0, take), off);
    off += take;
  }
  return Array.from({ length: newShardSize }, (_, r) => target.chunk(flat, r).slice());
}
