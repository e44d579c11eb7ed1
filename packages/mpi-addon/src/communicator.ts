import { loadMpiBinding, type MpiBinding, MpiError, type MpiReduceOp } from "./load-binding.js";

/** Re-throws the native error object as an `MpiError` instance (the addon builds plain Errors). */
function asMpiError(e: unknown): unknown {
  const n = e as { message?: string; mpiCall?: string; rank?: number; errorClass?: number };
  if (n && typeof n.mpiCall === "string")
    return new MpiError(n.message ?? "MPI error", n.mpiCall, n.rank ?? -1, n.errorClass ?? -1);
  return e;
}

/** Chains per binding when the library is not MPI_THREAD_MULTIPLE: then only one call may be in MPI. */
const globalTails = new WeakMap<MpiBinding, { tail: Promise<unknown> }>();

/**
 * One MPI communicator. Collectives run on a libuv worker thread and resolve when MPI returns; calls on
 * one communicator are queued so they enter MPI in call order, as MPI requires of every member.
 */
export class MpiCommunicator {
  readonly rank: number;
  readonly size: number;
  readonly label: string;
  private readonly queue: { tail: Promise<unknown> };

  private constructor(
    private readonly binding: MpiBinding,
    readonly id: number,
    /** "multiple" lets communicators progress independently; otherwise all calls share one queue. */
    readonly threadLevel: string,
  ) {
    const info = binding.commInfo(id);
    this.rank = info.rank;
    this.size = info.size;
    this.label = info.label;
    if (threadLevel === "multiple") this.queue = { tail: Promise.resolve() };
    else {
      let q = globalTails.get(binding);
      if (!q) {
        q = { tail: Promise.resolve() };
        globalTails.set(binding, q);
      }
      this.queue = q;
    }
  }

  /** MPI_COMM_WORLD; initialises MPI (MPI_Init_thread) on first use. */
  static world(binding: MpiBinding = loadMpiBinding()): MpiCommunicator {
    const w = binding.init();
    return new MpiCommunicator(binding, w.world, w.threadLevel);
  }

  private run<T>(call: () => Promise<T>): Promise<T> {
    const task = this.queue.tail.then(() => call().catch((e) => Promise.reject(asMpiError(e))));
    this.queue.tail = task.catch(() => {});
    return task;
  }

  /** MPI_Allreduce in place. */
  allReduce(buf: Float32Array, op: MpiReduceOp = "sum"): Promise<void> {
    return this.run(() => this.binding.allreduce(this.id, buf, op));
  }

  /** MPI_Reduce_scatter_block: `input.length` must be a multiple of `size`; returns this rank's block. */
  reduceScatterBlock(input: Float32Array, op: MpiReduceOp = "sum"): Promise<Float32Array> {
    if (input.length % this.size !== 0)
      return Promise.reject(
        new RangeError(`reduceScatterBlock: input length ${input.length} is not divisible by ${this.size}`),
      );
    const out = new Float32Array(input.length / this.size);
    return this.run(() => this.binding.reduceScatterBlock(this.id, input, out, op)).then(() => out);
  }

  /** MPI_Allgather of equal-length chunks, concatenated in rank order. */
  allGather(chunk: Float32Array): Promise<Float32Array> {
    const out = new Float32Array(chunk.length * this.size);
    return this.run(() => this.binding.allgather(this.id, chunk, out)).then(() => out);
  }

  /** MPI_Bcast in place from `root` (a rank of this communicator). */
  broadcast(buf: Float32Array, root: number): Promise<void> {
    return this.run(() => this.binding.bcast(this.id, buf, root));
  }

  barrier(): Promise<void> {
    return this.run(() => this.binding.barrier(this.id));
  }

  /** MPI_Comm_split_type(MPI_COMM_TYPE_SHARED): the members that share a node, ordered by `key`. */
  async splitShared(label: string, key = this.rank): Promise<MpiCommunicator> {
    const id = await this.run(() => this.binding.splitShared(this.id, key, label));
    return new MpiCommunicator(this.binding, id, this.threadLevel);
  }

  /** MPI_Comm_split: members with the same `color` form a communicator, ordered by `key`. */
  async split(color: number, label: string, key = this.rank): Promise<MpiCommunicator> {
    const id = await this.run(() => this.binding.split(this.id, color, key, label));
    return new MpiCommunicator(this.binding, id, this.threadLevel);
  }

  /** Resolves once every call queued so far on this communicator has finished (successfully or not). */
  drained(): Promise<void> {
    return this.queue.tail.then(() => {});
  }
}

/** MPI_Finalize (after freeing sub-communicators). MPI cannot be initialised again in this process. */
export function mpiFinalize(binding: MpiBinding = loadMpiBinding()): void {
  binding.finalize();
}

/** MPI_Abort(MPI_COMM_WORLD, code): the launcher (mpirun / srun) terminates every rank. Never returns. */
export function mpiAbort(code = 1, binding: MpiBinding = loadMpiBinding()): never {
  return binding.abort(code);
}

/** The MPI library's own version string, e.g. "Open MPI v4.1.4, package: Debian OpenMPI, ...". */
export function mpiLibraryVersion(binding: MpiBinding = loadMpiBinding()): string {
  return binding.libraryVersion();
}
