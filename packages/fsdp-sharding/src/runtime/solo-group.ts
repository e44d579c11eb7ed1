import { ShardingError } from "../errors.js";
import { outputBuffer } from "./output-buffer.js";
import type { ProcessGroup, ReduceOp, SubgroupKind } from "./process-group.js";

/** A group of one: every collective is the identity. Used for world size 1 and as FSDP's trivial group. */
export class SoloGroup implements ProcessGroup {
  readonly rank = 0;
  readonly size = 1;
  readonly members: readonly number[];
  constructor(
    readonly globalRank = 0,
    readonly localRank = 0,
    readonly localSize = 1,
    readonly nodeRank = 0,
  ) {
    this.members = [globalRank];
  }
  async allReduce(_buf: Float32Array, _op?: ReduceOp): Promise<void> {}
  async reduceScatter(input: Float32Array, _op?: ReduceOp, out?: Float32Array): Promise<Float32Array> {
    const result = outputBuffer(out, input.length, "reduceScatter");
    result.set(input);
    return result;
  }
  async allGather(chunk: Float32Array, out?: Float32Array): Promise<Float32Array> {
    const result = outputBuffer(out, chunk.length, "allGather");
    result.set(chunk);
    return result;
  }
  async broadcast(_buf: Float32Array, root: number): Promise<void> {
    if (root !== 0) throw new ShardingError(`broadcast root ${root} is outside a group of size 1`);
  }
  async barrier(): Promise<void> {}
  subgroup(_kind: SubgroupKind): ProcessGroup {
    return this;
  }
  async destroy(): Promise<void> {}
}
