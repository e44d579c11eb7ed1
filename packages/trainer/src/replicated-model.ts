import type { ShardedDataParallel, UnitShard } from "@biomed-llama/fsdp-sharding";
import { type LlamaForCausalLM, readTransient, saveHFCheckpoint } from "@biomed-llama/llama-model";
import type * as tf from "@tensorflow/tfjs";
import type { Rows, ShardedModel } from "./sharded-model.js";

/**
 * The model under DDP (`none`) and ZeRO-1/2 (`grad-op`, `hybrid-grad-op`): every rank holds the full
 * parameters in the model and runs it whole; the optimizer updates this rank's shards of them, which
 * are gathered back into the model after each step. Gradients are accumulated unit by unit, read in the
 * backend's own memory where it allows (native: no host copy), else copied one unit at a time.
 */
export class ReplicatedModel implements ShardedModel {
  constructor(
    private readonly model: LlamaForCausalLM,
    private readonly sdp: ShardedDataParallel,
  ) {}

  get config() {
    return this.model.config;
  }

  async lossAndGrads(
    inputIds: Rows,
    labels: Rows,
    poison = false,
  ): Promise<{ loss: number; tokens: number }> {
    const r = await this.model.lossAndGrads(inputIds, labels, { reduction: "sum" });
    try {
      let poisonNext = poison;
      for (const u of this.sdp.units) {
        // Views of the backend's own memory where it has them (readTransient): accumulated (copied)
        // before the gradients are disposed.
        const unitGrads = new Map<string, Float32Array>();
        const read: tf.Tensor[] = [];
        for (const name of u.offsets.keys()) {
          const g = r.grads.get(name);
          if (!g) throw new Error(`unit ${u.name}: the model gave no gradient for ${name}`);
          unitGrads.set(name, await readTransient(g));
          read.push(g);
          r.grads.delete(name);
        }
        try {
          if (poisonNext) {
            unitGrads.values().next().value![0] = Number.NaN;
            poisonNext = false;
          }
          this.sdp.accumulateUnitGradients(u.name, unitGrads);
        } finally {
          for (const g of read) g.dispose();
        }
      }
    } finally {
      for (const g of r.grads.values()) g.dispose();
    }
    return { loss: r.loss, tokens: r.tokens };
  }

  takeGradientShards(): Promise<UnitShard[]> {
    return this.sdp.reduceGradients();
  }

  /** Gathers the updated shards back into the model, one unit at a time. */
  async parametersUpdated(): Promise<void> {
    for (const u of this.sdp.units)
      for (const [name, data] of await this.sdp.gatherUnit(u.name)) this.model.setParameter(name, data);
  }

  loss(inputIds: Rows, labels: Rows): Promise<{ loss: number; tokens: number }> {
    return this.model.loss(inputIds, labels, { reduction: "sum" });
  }

  async hfWeights(keep: boolean): Promise<((dir: string) => Promise<void>) | null> {
    return keep ? (dir) => saveHFCheckpoint(this.model, dir) : null;
  }

  fullParameters(): Promise<Map<string, Float32Array>> {
    return this.model.stateDict();
  }

  dispose(): void {
    this.model.dispose();
  }
}
