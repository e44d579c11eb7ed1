// The seam between the floors: FSDP (src/fsdp) sees a job only through `ProcessGroup`; each transport
// (src/transports) implements it, and `initProcessGroup` picks one.

/** How a collective combines values element-wise. "avg" is the sum divided by the group size. */
export type ReduceOp = "sum" | "avg" | "max";

/** The two sub-rings hybrid sharding needs: ranks on my node, and my counterparts on other nodes. */
export type SubgroupKind = "intra-node" | "inter-node";

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
