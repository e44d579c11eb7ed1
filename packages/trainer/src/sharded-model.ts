import {
  type ProcessGroup,
  ShardedDataParallel,
  type ShardedState,
  type UnitShard,
  type UnitSpec,
} from "@biomed-llama/fsdp-sharding";
import {
  type LlamaConfig,
  LlamaForCausalLM,
  llamaUnits,
  loadHFCheckpoint,
  parameterShapes,
  presetConfig,
  releaseBackendMemory,
} from "@biomed-llama/llama-model";
import type { TrainConfig } from "./config.js";
import { ConfigError } from "./errors.js";
import { ReplicatedModel } from "./replicated-model.js";
import { UnitShardedModel } from "./unit-sharded-model.js";

export type Rows = ArrayLike<number>[];

/**
 * What the training loop sees of the model, whatever the sharding strategy: micro-batches in, reduced
 * gradient shards (with the parameter shards they update) out, and a signal that the optimizer moved
 * the shards. Every method is a collective where the strategy needs one: every rank calls it.
 */
export interface ShardedModel {
  readonly config: LlamaConfig;
  /** One micro-batch (loss summed over its label tokens); its gradients join this step's. `poison`
   * makes the first gradient NaN (fault injection). */
  lossAndGrads(inputIds: Rows, labels: Rows, poison?: boolean): Promise<{ loss: number; tokens: number }>;
  /** This step's reduced gradient shards in unit order, summed over micro-batches; starts the next step. */
  takeGradientShards(): Promise<UnitShard[]>;
  /** The optimizer updated the parameter shards in place: make the model compute with them. */
  parametersUpdated(): Promise<void>;
  /** Forward-only loss summed over label tokens. */
  loss(inputIds: Rows, labels: Rows): Promise<{ loss: number; tokens: number }>;
  /** A writer of the Hugging Face weights for the rank with `keep` (null on the others). */
  hfWeights(keep: boolean): Promise<((dir: string) => Promise<void>) | null>;
  /** Full parameters, identical on every rank. */
  fullParameters(): Promise<Map<string, Float32Array>>;
  dispose(): void;
}

/** FSDP's wrapping of LLaMA, as the seed's: embeddings, one unit per decoder layer, final norm + head. */
export function fsdpUnits(config: LlamaConfig): UnitSpec[] {
  const shapes = parameterShapes(config);
  return llamaUnits(config).map((u) => ({
    name: u.name,
    params: u.params.map((name) => ({ name, shape: shapes.get(name) as number[] })),
  }));
}

export interface ShardedModelSetup {
  model: ShardedModel;
  sdp: ShardedDataParallel;
  /** Optimizer state saved beside the parameter shards of a resumed checkpoint (kind → unit → shard). */
  extras: Map<string, Map<string, Float32Array>> | null;
}

/**
 * The run's model, sharded by `cfg.sharding` over `group`: from the resumed checkpoint's shards, else
 * `init_from`, else the preset; on a fresh start every rank takes rank 0's parameters. ZeRO-3
 * strategies (`full`, `hybrid`) keep parameters only as shards and run the model unit by unit; the
 * others keep a whole model per rank.
 */
export async function shardModel(
  cfg: TrainConfig,
  group: ProcessGroup,
  saved: { states: ShardedState[]; modelConfig: LlamaConfig; dir: string } | null,
  log: (line: string) => void = () => {},
): Promise<ShardedModelSetup> {
  const recompute = cfg.activation_checkpointing === "layer";
  let model: LlamaForCausalLM;
  if (saved) model = new LlamaForCausalLM(saved.modelConfig, { uninitialized: true, recompute });
  else if (cfg.init_from) {
    // a large checkpoint takes a while to read: say so at once, then every 5 s
    const from = cfg.init_from;
    let said = 0;
    model = await loadHFCheckpoint(from, {
      recompute,
      onProgress: (done, total) => {
        if (total < 256 << 20 || (Date.now() - said < 5000 && done < total)) return;
        if (said === 0) log(`${from}: loading ${(total / 1e9).toFixed(2)} GB of weights`);
        else log(`${from}: ${((100 * done) / total).toFixed(0)}% of the weights loaded`);
        said = Date.now();
      },
    });
  } else if (cfg.model)
    model = new LlamaForCausalLM(presetConfig(cfg.model), { seed: cfg.init_seed, recompute });
  else throw new ConfigError("config", ["init_from/model: set one of them (or resume)"]);
  try {
    const sdp = new ShardedDataParallel({
      units: fsdpUnits(model.config),
      strategy: cfg.sharding,
      group,
      gradReduction: "sum",
    });
    const zero3 = sdp.reshardAfterForward;
    let extras: Map<string, Map<string, Float32Array>> | null = null;
    if (saved) {
      extras = sdp.loadShardedStateDict(saved.states);
      if (!zero3) model.loadStateDict(await sdp.gatherParameters(), { source: saved.dir });
    } else {
      // every rank takes rank 0's parameters, unit by unit, so no second full copy is ever held
      const vars = model.namedParameters();
      for (const u of sdp.units) {
        const unit = new Map<string, Float32Array>();
        for (const name of u.offsets.keys()) unit.set(name, (await vars.get(name)!.data()) as Float32Array);
        await sdp.broadcastUnitParameters(u.name, unit);
        if (group.rank !== 0 && !zero3) for (const [name, data] of unit) model.setParameter(name, data);
      }
    }
    if (!zero3) return { model: new ReplicatedModel(model, sdp), sdp, extras };
    const config = model.config;
    model.dispose();
    // the whole model was needed once, to take the shards: give its memory back, not to a reuse cache
    releaseBackendMemory();
    return { model: new UnitShardedModel(config, sdp), sdp, extras };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
