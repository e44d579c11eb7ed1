import type { ShardedDataParallel, UnitShard } from "@biomed-llama/fsdp-sharding";
import {
  float32UnitHooks,
  type LlamaConfig,
  layerwiseLoss,
  layerwiseLossAndGrads,
  releaseBackendMemory,
  saveHFStateDict,
} from "@biomed-llama/llama-model";
import type { Rows, ShardedModel } from "./sharded-model.js";

/**
 * The model under ZeRO-3 (`full`, and `hybrid` inside a node), as FSDP's FULL_SHARD runs it: its
 * parameters exist only as this rank's shards. Each unit is all-gathered right before its forward, and
 * again before its backward (the layerwise pass recomputes a layer's forward there), and freed right
 * after; its gradients are reduce-scattered as soon as backward has produced them. Between steps a rank
 * holds its parameter shards and optimizer moments only; during a step, one unit's full parameters and
 * gradients at a time plus each layer's input activations.
 */
export class UnitShardedModel implements ShardedModel {
  /** Per unit, this step's summed gradient shard: one buffer per unit, reused from step to step. */
  private readonly sums = new Map<string, UnitShard>();
  /** Units whose sum has not been written yet this step. */
  private readonly pending = new Set<string>();
  /** A later micro-batch's reduced shard, before it is added to the sum (the largest shard's size). */
  private more: Float32Array | null = null;

  constructor(
    readonly config: LlamaConfig,
    private readonly sdp: ShardedDataParallel,
  ) {}

  /**
   * One micro-batch (loss summed over its label tokens). Its gradients are reduce-scattered unit by unit
   * and added to this step's gradient shards. `poison` makes the first gradient NaN (fault injection).
   */
  async lossAndGrads(
    inputIds: Rows,
    labels: Rows,
    poison = false,
  ): Promise<{ loss: number; tokens: number }> {
    let poisonNext = poison;
    const hooks = float32UnitHooks(this.config, {
      // one full-unit buffer for every gather and gradient flattening, gradients read from the backend's
      // own memory, each shard reduced straight into its step sum: no full-unit garbage per unit and step
      transient: true,
      acquire: (unit) => this.sdp.gatherUnit(unit, new Map(), { reuse: true }),
      gradients: async (unit, grads) => {
        if (poisonNext) {
          const first = grads.entries().next().value!;
          // the arrays may be the backend's own: poison a copy
          const poisoned = first[1].slice();
          poisoned[0] = Number.NaN;
          grads.set(first[0], poisoned);
          poisonNext = false;
        }
        const sum = this.sums.get(unit);
        if (!sum) {
          this.sums.set(unit, await this.sdp.reduceUnitGradients(unit, grads, { reuse: true }));
        } else if (this.pending.delete(unit)) {
          await this.sdp.reduceUnitGradients(unit, grads, { reuse: true, out: sum.grad });
        } else {
          const more = this.addend(sum.grad.length);
          await this.sdp.reduceUnitGradients(unit, grads, { reuse: true, out: more });
          addInPlace(sum.grad, more);
        }
      },
    });
    return layerwiseLossAndGrads(this.config, inputIds, labels, hooks, { reduction: "sum" });
  }

  private addend(length: number): Float32Array {
    if (!this.more || this.more.length < length)
      this.more = new Float32Array(Math.max(...this.sdp.units.map((u) => u.chunkSize)));
    return this.more.subarray(0, length);
  }

  /**
   * The step's reduced gradient shards in unit order (summed over micro-batches); starts the next step.
   * The buffers are reused: they hold this step's gradients until the next step's first micro-batch.
   */
  async takeGradientShards(): Promise<UnitShard[]> {
    const out = this.sdp.units.map((u) => {
      const s = this.sums.get(u.name);
      if (!s || this.pending.has(u.name))
        throw new Error(`unit ${u.name}: no gradients this step (call lossAndGrads first)`);
      return s;
    });
    for (const u of this.sdp.units) this.pending.add(u.name);
    // Backward is done: the backend's cache of freed blocks goes back to the system. A ZeRO-3 run is
    // the one that fills memory with shards and moments (allocated by the first optimizer step), and
    // the next step's activations must fit beside them; within a step the cache still serves every
    // layer after the first.
    releaseBackendMemory();
    return out;
  }

  /** Forward-only summed loss over label tokens. */
  loss(inputIds: Rows, labels: Rows): Promise<{ loss: number; tokens: number }> {
    const hooks = float32UnitHooks(this.config, {
      transient: true,
      acquire: (unit) => this.sdp.gatherUnit(unit, new Map(), { reuse: true }),
    });
    return layerwiseLoss(this.config, inputIds, labels, hooks, { reduction: "sum" });
  }

  /** The optimizer updated the shards in place: the next forward gathers them. */
  async parametersUpdated(): Promise<void> {}

  /**
   * The HF weights writer (a collective: every rank calls it, and every rank takes part in gathering
   * each unit once, in unit order). The rank with `keep` writes as it gathers, one unit at a time, so
   * no rank ever holds the full parameters; the others drop each unit as soon as it is gathered.
   */
  async hfWeights(keep: boolean): Promise<((dir: string) => Promise<void>) | null> {
    const units = this.sdp.units;
    // one reused gather buffer: the writer consumes each unit's tensors before it asks for the next unit
    const gather = (name: string) => this.sdp.gatherUnit(name, new Map(), { reuse: true });
    if (!keep) {
      for (const u of units) await gather(u.name);
      return null;
    }
    const unitOf = new Map<string, number>();
    units.forEach((u, i) => {
      for (const name of u.offsets.keys()) unitOf.set(name, i);
    });
    return async (dir) => {
      let at = -1;
      let current = new Map<string, Float32Array>();
      await saveHFStateDict(
        this.config,
        async (name) => {
          const i = unitOf.get(name) ?? -1;
          if (i < at) throw new Error(`${name}: parameters must be written in unit order`);
          while (at < i) current = await gather(units[++at].name);
          return current.get(name) as Float32Array;
        },
        dir,
      );
      // every rank gathers every unit, whatever the writer asked for
      while (at < units.length - 1) await gather(units[++at].name);
    };
  }

  fullParameters(): Promise<Map<string, Float32Array>> {
    return this.sdp.gatherParameters();
  }

  /** Nothing lives outside the shards, which the ShardedDataParallel owns. */
  dispose(): void {}
}

/** `dst += src`, kept out of async bodies, where V8 optimises element loops poorly. */
function addInPlace(dst: Float32Array, src: Float32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}
