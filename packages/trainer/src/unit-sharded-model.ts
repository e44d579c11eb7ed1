import type { ShardedDataParallel, UnitShard } from "@biomed-llama/fsdp-sharding";
import {
  float32UnitHooks,
  type LlamaConfig,
  layerwiseLoss,
  layerwiseLossAndGrads,
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
  private readonly accumulated = new Map<string, UnitShard>();

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
      acquire: (unit) => this.sdp.gatherUnit(unit),
      gradients: async (unit, grads) => {
        if (poisonNext) {
          grads.values().next().value![0] = Number.NaN;
          poisonNext = false;
        }
        const shard = await this.sdp.reduceUnitGradients(unit, grads);
        const sum = this.accumulated.get(unit);
        if (!sum) this.accumulated.set(unit, shard);
        else for (let i = 0; i < sum.grad.length; i++) sum.grad[i] += shard.grad[i];
      },
    });
    return layerwiseLossAndGrads(this.config, inputIds, labels, hooks, { reduction: "sum" });
  }

  /** The step's reduced gradient shards in unit order (summed over micro-batches); starts the next step. */
  async takeGradientShards(): Promise<UnitShard[]> {
    const out = this.sdp.units.map((u) => {
      const s = this.accumulated.get(u.name);
      if (!s) throw new Error(`unit ${u.name}: no gradients this step (call lossAndGrads first)`);
      return s;
    });
    this.accumulated.clear();
    return out;
  }

  /** Forward-only summed loss over label tokens. */
  loss(inputIds: Rows, labels: Rows): Promise<{ loss: number; tokens: number }> {
    const hooks = float32UnitHooks(this.config, { acquire: (unit) => this.sdp.gatherUnit(unit) });
    return layerwiseLoss(this.config, inputIds, labels, hooks, { reduction: "sum" });
  }

  /** The optimizer updated the shards in place: the next forward gathers them. */
  async parametersUpdated(): Promise<void> {}

  /**
   * The HF weights writer: full parameters gathered unit by unit (a collective: every rank calls it).
   * Only the rank with `keep` assembles them; the others drop each unit as soon as it is gathered.
   */
  async hfWeights(keep: boolean): Promise<((dir: string) => Promise<void>) | null> {
    if (!keep) {
      for (const u of this.sdp.units) await this.sdp.gatherUnit(u.name);
      return null;
    }
    const full = await this.sdp.gatherParameters();
    return (dir) => saveHFStateDict(this.config, full, dir);
  }

  fullParameters(): Promise<Map<string, Float32Array>> {
    return this.sdp.gatherParameters();
  }

  /** Nothing lives outside the shards, which the ShardedDataParallel owns. */
  dispose(): void {}
}
