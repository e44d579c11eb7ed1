/** PyTorch FSDP ShardingStrategy equivalents: FULL_SHARD, SHARD_GRAD_OP, HYBRID_SHARD, _HYBRID_SHARD_ZERO2, NO_SHARD. */
export type ShardingStrategy = "full" | "grad-op" | "hybrid" | "hybrid-grad-op" | "none";

export interface ParamSpec {
  name: string;
  shape: number[];
}

export interface UnitSpec {
  name: string;
  params: ParamSpec[];
}

/** One unit's slice of the optimizer problem on this rank; `param` is live (update it in place). */
export interface UnitShard {
  unit: string;
  /** Stable optimizer-state key, e.g. "layers.3/shard1of4". */
  key: string;
  param: Float32Array;
  grad: Float32Array;
}

/** Everything needed to rebuild one rank's shards, possibly at another world size. */
export interface ShardedState {
  format: "biomed-llama-fsdp/1";
  strategy: ShardingStrategy;
  shardRank: number;
  shardSize: number;
  units: UnitSpec[];
  /** `${unit}::${field}` → this rank's chunk; field "param" always present, others (e.g. "exp_avg") optional. */
  tensors: Record<string, Float32Array>;
}
