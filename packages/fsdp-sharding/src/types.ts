/** How a collective combines values element-wise. "avg" is the sum divided by the group size. */
export type ReduceOp = "sum" | "avg" | "max";

/** The two sub-rings hybrid sharding needs: ranks on my node, and my counterparts on other nodes. */
export type SubgroupKind = "intra-node" | "inter-node";

/** Where this process sits in the job, as read from torchrun / SLURM / OpenMPI variables. */
export interface RankInfo {
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  nodeRank: number;
  numNodes: number;
  masterAddr: string;
  masterPort: number;
  /** Which launcher's variables were used: "torchrun" | "slurm" | "openmpi" | "single". */
  source: "torchrun" | "slurm" | "openmpi" | "single";
}

/**
 * A set of ranks that run collectives together, in the same order on every member.
 * All buffers are float32; every call on a group must be issued by every member, in the same order.
 */
export interface ProcessGroup {
  /** Rank inside this group (0..size-1). */
  readonly rank: number;
  readonly size: number;
  /** Global (world) rank of this process, whatever group this is. */
  readonly globalRank: number;
  /** Global ranks of the members, in group-rank order. */
  readonly members: readonly number[];
  readonly localRank: number;
  readonly localSize: number;
  readonly nodeRank: number;
  /** In place. */
  allReduce(buf: Float32Array, op?: ReduceOp): Promise<void>;
  /**
   * `input.length` must be divisible by `size`; returns this rank's chunk of the element-wise reduction,
   * written into `out` (length `input.length / size`) when given, else into a new array.
   */
  reduceScatter(input: Float32Array, op?: ReduceOp, out?: Float32Array): Promise<Float32Array>;
  /**
   * Every member passes a chunk of the same length; returns the concatenation in group-rank order, written
   * into `out` (length `chunk.length × size`; `chunk` may be this rank's own slot of it) when given.
   */
  allGather(chunk: Float32Array, out?: Float32Array): Promise<Float32Array>;
  /** In place: after the call every member holds `root`'s buffer (root is a group rank). */
  broadcast(buf: Float32Array, root: number): Promise<void>;
  barrier(): Promise<void>;
  subgroup(kind: SubgroupKind): ProcessGroup;
  destroy(): Promise<void>;
}

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
