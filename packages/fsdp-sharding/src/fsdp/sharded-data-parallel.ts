import { ShardingError } from "../errors.js";
import type { ProcessGroup } from "../runtime/process-group.js";
import { SoloGroup } from "../runtime/solo-group.js";
import { FlatParamUnit, reshardChunks } from "./flat-param-unit.js";
import type { ShardedState, ShardingStrategy, UnitShard, UnitSpec } from "./types.js";

/**
 * `reuse`: work in one full-unit buffer the ShardedDataParallel keeps (the largest unit's size) instead
 * of a fresh one per call: a ZeRO-3 step then allocates no full-unit buffers at all. What such a call
 * returns views into that buffer only until the next `reuse` call — for a caller that consumes it first
 * (copies the gathered parameters into tensors, say) and makes one such call at a time.
 */
export interface UnitBufferOptions {
  reuse?: boolean;
}

export interface ShardedDataParallelOptions {
  /** FSDP wrapping units in order (e.g. embeddings, one per decoder layer, norm + head); the caller decides. */
  units: UnitSpec[];
  strategy: ShardingStrategy;
  /** The world group (from `initProcessGroup`). */
  group: ProcessGroup;
  /**
   * "avg" (default, what DDP/FSDP do): reduced gradients are divided by the world size, so with per-rank
   * mean losses the result is the mean over the global batch. "sum": no division — use with token-summed
   * losses and divide by the global token count yourself.
   */
  gradReduction?: "avg" | "sum";
}

/** Kept out of async bodies, where V8 optimises element loops poorly. */
function scaleInPlace(buf: Float32Array, factor: number): void {
  for (let i = 0; i < buf.length; i++) buf[i] *= factor;
}

const STRATEGIES: ShardingStrategy[] = ["full", "grad-op", "hybrid", "hybrid-grad-op", "none"];

/**
 * PyTorch FSDP's sharding logic without autograd hooks: the trainer hands in full gradients after
 * backward and gets back this rank's reduced shard per unit; after the optimizer updated the shards in
 * place it asks for the full parameters back.
 */
export class ShardedDataParallel {
  readonly strategy: ShardingStrategy;
  readonly group: ProcessGroup;
  /** Ranks that split each unit between them (world, the node, or just this rank). */
  readonly shardGroup: ProcessGroup;
  /** Ranks holding identical shards whose gradients must still be summed (nodes for hybrid, world for none). */
  readonly replicaGroup: ProcessGroup;
  readonly units: readonly FlatParamUnit[];
  readonly gradReduction: "avg" | "sum";
  /**
   * ZeRO-3 (`full`, `hybrid`): drop gathered parameters after use and gather again before backward.
   * ZeRO-2 (`grad-op`, `hybrid-grad-op`) and `none`: keep the full parameters between steps.
   */
  readonly reshardAfterForward: boolean;
  private readonly byName = new Map<string, FlatParamUnit>();
  private readonly paramChunks = new Map<string, Float32Array>();
  private accumulated: Map<string, Float32Array> | null = null;
  /** One full-unit buffer (the largest unit's padded size) for the `reuse` gathers and reductions. */
  private scratch: Float32Array | null = null;

  constructor(opts: ShardedDataParallelOptions) {
    if (!STRATEGIES.includes(opts.strategy))
      throw new ShardingError(
        `strategy ${JSON.stringify(opts.strategy)} is not one of ${STRATEGIES.join(", ")}`,
      );
    this.strategy = opts.strategy;
    this.group = opts.group;
    this.gradReduction = opts.gradReduction ?? "avg";
    const solo = new SoloGroup(
      opts.group.globalRank,
      opts.group.localRank,
      opts.group.localSize,
      opts.group.nodeRank,
    );
    switch (opts.strategy) {
      case "full":
      case "grad-op":
        this.shardGroup = opts.group;
        this.replicaGroup = solo;
        break;
      case "hybrid":
      case "hybrid-grad-op":
        this.shardGroup = opts.group.subgroup("intra-node");
        this.replicaGroup = opts.group.subgroup("inter-node");
        break;
      case "none":
        this.shardGroup = solo;
        this.replicaGroup = opts.group;
        break;
    }
    this.reshardAfterForward = opts.strategy === "full" || opts.strategy === "hybrid";
    const seen = new Set<string>();
    this.units = opts.units.map((u) => {
      if (this.byName.has(u.name)) throw new ShardingError(`unit ${u.name} listed twice`);
      for (const p of u.params) {
        if (seen.has(p.name)) throw new ShardingError(`parameter ${p.name} is in two units`);
        seen.add(p.name);
      }
      const unit = new FlatParamUnit(u.name, u.params, this.shardGroup.size);
      this.byName.set(u.name, unit);
      this.paramChunks.set(u.name, new Float32Array(unit.chunkSize));
      return unit;
    });
  }

  /** Only one replica per shard rank needs to write checkpoint shards. */
  get isReplicaLeader(): boolean {
    return this.replicaGroup.rank === 0;
  }

  /** This rank's position in the shard group: the chunk index it owns. */
  get shardRank(): number {
    return this.shardGroup.rank;
  }

  private unit(name: string): FlatParamUnit {
    const u = this.byName.get(name);
    if (!u) throw new ShardingError(`unknown unit ${name}`);
    return u;
  }

  private key(unit: string): string {
    return `${unit}/shard${this.shardGroup.rank}of${this.shardGroup.size}`;
  }

  /**
   * Takes this rank's chunks from full parameters. Every rank must pass the same values (same seed or the
   * same checkpoint); `broadcastParameters` makes that so if unsure.
   */
  initParameters(full: ReadonlyMap<string, Float32Array>): void {
    for (const u of this.units) {
      const flat = u.flatten(full, "parameter");
      this.paramChunks.get(u.name)!.set(u.chunk(flat, this.shardGroup.rank));
    }
  }

  /** Makes every rank's parameters equal to rank 0's (in place on `full`), then takes the chunks. */
  async broadcastParameters(full: Map<string, Float32Array>): Promise<void> {
    for (const u of this.units) await this.broadcastUnitParameters(u.name, full);
  }

  /**
   * `broadcastParameters` for one unit (`params` holds at least that unit's parameters, updated in
   * place to rank 0's values): a caller reading parameters off a device unit by unit never holds a
   * second full copy of the model. Every rank calls it for the same units in the same order.
   */
  async broadcastUnitParameters(unitName: string, params: Map<string, Float32Array>): Promise<void> {
    const u = this.unit(unitName);
    // in the shared full-unit buffer: no allocation per unit (a 1.1B model is 4.4 GB of them)
    const flat = u.flatten(params, "parameter", this.scratchFor(u));
    await this.group.broadcast(flat, 0);
    if (this.group.rank !== 0)
      for (const [name, { offset, numel }] of u.offsets)
        params.get(name)!.set(flat.subarray(offset, offset + numel));
    this.paramChunks.get(u.name)!.set(u.chunk(flat, this.shardGroup.rank));
  }

  /**
   * Gradient accumulation without communication (DDP's `no_sync`): sums micro-step gradients into one
   * full-size buffer per unit. Costs a full gradient copy per rank; the alternative — calling
   * `reduceGradients` every micro-step and summing the returned shards — keeps only shards but
   * communicates every micro-step.
   */
  accumulateGradients(fullGrads: ReadonlyMap<string, Float32Array>): void {
    for (const u of this.units) this.accumulateUnitGradients(u.name, fullGrads);
  }

  /**
   * `accumulateGradients` for one unit (`grads` holds at least that unit's parameters): a caller that
   * reads gradients off the device unit by unit keeps one unit's host copy alive at a time, not the
   * whole model's. `reduceGradients` then needs every unit accumulated.
   */
  accumulateUnitGradients(unitName: string, grads: ReadonlyMap<string, Float32Array>): void {
    const u = this.unit(unitName);
    this.accumulated ??= new Map();
    const acc = this.accumulated.get(u.name);
    if (!acc) {
      this.accumulated.set(u.name, u.flatten(grads, "gradient"));
      return;
    }
    u.check(grads, "gradient");
    for (const [name, { offset, numel }] of u.offsets) {
      const g = grads.get(name) as Float32Array;
      for (let i = 0; i < numel; i++) acc[offset + i] += g[i];
    }
  }

  /**
   * Reduces full local gradients (or, with no argument, those accumulated by `accumulateGradients`) and
   * returns this rank's shard of every unit: reduce-scatter over the shard group, then all-reduce of the
   * shard over the replica group, then ÷ world size when `gradReduction` is "avg". Padding stays zero.
   */
  async reduceGradients(fullGrads?: ReadonlyMap<string, Float32Array>): Promise<UnitShard[]> {
    // Validate before the first collective: failing half-way would leave the other ranks waiting.
    if (fullGrads) for (const u of this.units) u.check(fullGrads, "gradient");
    // With micro-steps already accumulated, a final `fullGrads` is the last micro-step: add it in.
    if (fullGrads && this.accumulated) this.accumulateGradients(fullGrads);
    const accumulated = this.accumulated;
    this.accumulated = null;
    if (!accumulated && !fullGrads)
      throw new ShardingError("reduceGradients() without gradients: call accumulateGradients first");
    // Flatten one unit at a time so the transient full-size copy is one unit, not the whole model.
    if (accumulated && !fullGrads)
      for (const u of this.units)
        if (!accumulated.has(u.name))
          throw new ShardingError(`reduceGradients(): unit ${u.name} has no accumulated gradients`);
    const flatOf = (u: FlatParamUnit) => accumulated?.get(u.name) ?? u.flatten(fullGrads!, "gradient");
    const out: UnitShard[] = [];
    for (const u of this.units) out.push(await this.reduceFlat(u, flatOf(u)));
    return out;
  }

  /**
   * `reduceGradients` for one unit: takes the full local gradients of that unit's parameters only and
   * returns this rank's reduced shard. Calling it per unit as backward produces each unit's gradients
   * (every rank in the same unit order) keeps one unit's full gradients alive at a time instead of the
   * whole model's — ZeRO-3's per-unit reduce-scatter. Not combinable with pending `accumulateGradients`.
   */
  async reduceUnitGradients(
    unitName: string,
    unitGrads: ReadonlyMap<string, Float32Array>,
    opts: UnitBufferOptions & { out?: Float32Array } = {},
  ): Promise<UnitShard> {
    const u = this.unit(unitName);
    if (this.accumulated)
      throw new ShardingError(
        `reduceUnitGradients(${unitName}) with accumulated micro-steps pending: call reduceGradients`,
      );
    const flat = u.flatten(unitGrads, "gradient", opts.reuse ? this.scratchFor(u) : undefined);
    return this.reduceFlat(u, flat, opts.out);
  }

  /** The shared full-unit buffer, `u.paddedNumel` long (allocated once, for the largest unit). */
  private scratchFor(u: FlatParamUnit): Float32Array {
    if (!this.scratch) this.scratch = new Float32Array(Math.max(...this.units.map((v) => v.paddedNumel)));
    return this.scratch.subarray(0, u.paddedNumel);
  }

  private async reduceFlat(u: FlatParamUnit, flat: Float32Array, out?: Float32Array): Promise<UnitShard> {
    const grad = await this.shardGroup.reduceScatter(flat, "sum", out);
    await this.replicaGroup.allReduce(grad, "sum");
    const scale = this.gradReduction === "avg" ? 1 / this.group.size : 1;
    if (scale !== 1) scaleInPlace(grad, scale);
    return { unit: u.name, key: this.key(u.name), param: this.paramChunks.get(u.name)!, grad };
  }

  /** This rank's live parameter chunks (no communication), e.g. to feed an optimizer state loader. */
  parameterShards(): { unit: string; key: string; param: Float32Array }[] {
    return this.units.map((u) => ({
      unit: u.name,
      key: this.key(u.name),
      param: this.paramChunks.get(u.name)!,
    }));
  }

  /**
   * All-gathers one unit's parameters (ZeRO-3 gathers one unit just before it is needed): fresh copies,
   * or with `reuse` views into one buffer this object keeps, valid until its next `reuse` call.
   */
  async gatherUnit(
    unitName: string,
    into: Map<string, Float32Array> = new Map(),
    opts: UnitBufferOptions = {},
  ): Promise<Map<string, Float32Array>> {
    const u = this.unit(unitName);
    const chunk = this.paramChunks.get(u.name)!;
    if (!opts.reuse) return u.unflatten(await this.shardGroup.allGather(chunk), into);
    const flat = await this.shardGroup.allGather(chunk, this.scratchFor(u));
    return u.unflatten(flat, into, { views: true });
  }

  /** All-gathers every unit's parameters: name → full tensor (fresh copies, padding removed). */
  async gatherParameters(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const u of this.units) await this.gatherUnit(u.name, out);
    return out;
  }

  /**
   * The group over which the gradient-norm sum of squares must be all-reduced: the shard group (replicas
   * hold identical shards and must not be counted twice). For `none` a group of one.
   */
  shardGroupForNorm(): ProcessGroup {
    return this.shardGroup;
  }

  /**
   * This rank's shards for a checkpoint. `extra` adds further chunk-shaped tensors per unit, e.g.
   * `{ exp_avg: Map(unit → Float32Array) }` from the optimizer, so they reshard together with the params.
   * The tensors are copies unless `copy: false`: then they are the live buffers (no second copy of
   * parameters and moments, as PyTorch's sharded state dict hands out references), valid until the
   * next update — for a caller that writes them at once.
   */
  shardedStateDict(
    extra: Record<string, ReadonlyMap<string, Float32Array>> = {},
    opts: { copy?: boolean } = {},
  ): ShardedState {
    const copy = opts.copy ?? true;
    const tensors: Record<string, Float32Array> = {};
    for (const u of this.units) {
      const param = this.paramChunks.get(u.name)!;
      tensors[`${u.name}::param`] = copy ? param.slice() : param;
      for (const [field, m] of Object.entries(extra)) {
        const t = m.get(u.name);
        if (!t) continue;
        if (t.length !== u.chunkSize)
          throw new ShardingError(
            `extra state ${field} for unit ${u.name} has ${t.length} elements, not ${u.chunkSize}`,
          );
        tensors[`${u.name}::${field}`] = copy ? t.slice() : t;
      }
    }
    return {
      format: "biomed-llama-fsdp/1",
      strategy: this.strategy,
      shardRank: this.shardGroup.rank,
      shardSize: this.shardGroup.size,
      units: this.units.map((u) => ({
        name: u.name,
        params: u.params.map((p) => ({ name: p.name, shape: [...p.shape] })),
      })),
      tensors,
    };
  }

  /** The house-wide name for `shardedStateDict` (every stateful class has `stateDict()`). */
  stateDict(extra: Record<string, ReadonlyMap<string, Float32Array>> = {}): ShardedState {
    return this.shardedStateDict(extra);
  }

  /** The house-wide name for `loadShardedStateDict`. */
  loadStateDict(states: ShardedState[]): Map<string, Map<string, Float32Array>> {
    return this.loadShardedStateDict(states);
  }

  /**
   * Loads shards saved by any world size / strategy: `states` must contain one state per old shard rank
   * (replica duplicates are ignored). Sets this rank's parameter chunks and returns the extra fields
   * re-chunked for this rank: field → unit → chunk.
   */
  loadShardedStateDict(states: ShardedState[]): Map<string, Map<string, Float32Array>> {
    if (states.length === 0) throw new ShardingError("no sharded states to load");
    const oldSize = states[0].shardSize;
    const byRank = new Map<number, ShardedState>();
    for (const s of states) {
      if (s.format !== "biomed-llama-fsdp/1")
        throw new ShardingError(`sharded state format ${s.format} is unknown`);
      if (s.shardSize !== oldSize) throw new ShardingError("sharded states disagree on the shard size");
      byRank.set(s.shardRank, s);
    }
    for (let r = 0; r < oldSize; r++)
      if (!byRank.has(r))
        throw new ShardingError(`sharded state of shard rank ${r} of ${oldSize} is missing`);
    const ordered = Array.from({ length: oldSize }, (_, r) => byRank.get(r)!);
    const extras = new Map<string, Map<string, Float32Array>>();
    for (const u of this.units) {
      const saved = ordered[0].units.find((x) => x.name === u.name);
      if (!saved) throw new ShardingError(`unit ${u.name} is not in the saved state`);
      const savedUnit = new FlatParamUnit(u.name, saved.params, oldSize);
      if (savedUnit.numel !== u.numel || saved.params.some((p, i) => p.name !== u.params[i]?.name))
        throw new ShardingError(`unit ${u.name}: saved parameters differ from this model's`);
      const prefix = `${u.name}::`;
      const fields = Object.keys(ordered[0].tensors)
        .filter((k) => k.startsWith(prefix))
        .map((k) => k.slice(prefix.length));
      for (const field of fields) {
        const chunks = ordered.map((s, r) => {
          const t = s.tensors[prefix + field];
          if (!t) throw new ShardingError(`sharded state of rank ${r} lacks ${prefix + field}`);
          return t;
        });
        const mine = reshardChunks(savedUnit, chunks, this.shardGroup.size)[this.shardGroup.rank];
        if (field === "param") this.paramChunks.get(u.name)!.set(mine);
        else {
          if (!extras.has(field)) extras.set(field, new Map());
          extras.get(field)!.set(u.name, mine);
        }
      }
      if (!fields.includes("param")) throw new ShardingError(`unit ${u.name}: saved state has no parameters`);
    }
    return extras;
  }
}
