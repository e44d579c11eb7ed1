import { CollectiveTimeoutError, PeerFailureError, ShardingError } from "../errors.js";
import { outputBuffer } from "../runtime/output-buffer.js";
import type { ProcessGroup, ReduceOp, SubgroupKind } from "../runtime/process-group.js";
import type { RankInfo } from "../runtime/rank-env.js";
import { SoloGroup } from "../runtime/solo-group.js";
import type { AbortNotice, TcpStoreClient } from "../runtime/tcp-store.js";
import { OP_NAMES, type OpCode, type RingChannel } from "./ring-channel.js";
import {
  type RingLink,
  ringBarrier,
  ringBroadcast,
  ringPass,
  ringReduceScatter,
  segmentBounds,
} from "./ring-collectives.js";
import type { SharedArena } from "./shared-arena.js";
import { shmAllGather, shmAllReduce, shmBarrier, shmBroadcast, shmReduceScatter } from "./shm-collectives.js";
import {
  singleCopyAllGather,
  singleCopyAllReduce,
  singleCopyBroadcast,
  singleCopyReduceScatter,
} from "./single-copy-collectives.js";

/**
 * State shared by all groups of one process: the store connection (failure verdicts arrive there) and
 * every ring channel, so that one failure stops every collective in the process at once.
 */
export class JobContext {
  readonly channels: RingChannel[] = [];
  private abortNotice: AbortNotice | null = null;
  teardown: () => Promise<void> = async () => {};

  constructor(
    readonly info: RankInfo,
    readonly store: TcpStoreClient,
    readonly timeoutMs: number,
    /** How long to wait for the store's verdict before failing with our own guess. */
    readonly verdictWaitMs: number,
    readonly pieceElems: number,
  ) {
    store.onAbort = (n) => this.abortAll(n);
  }

  get aborted(): AbortNotice | null {
    return this.abortNotice;
  }

  /** Set on rank 0, whose process also carries the store every other rank hears verdicts from. */
  hostsStore = false;

  abortAll(n: AbortNotice): void {
    const first = !this.abortNotice;
    if (first) this.abortNotice = n;
    const notice = this.abortNotice!;
    const fail = () => {
      const err = new PeerFailureError(`job aborted: ${notice.reason}`, notice.rank);
      for (const c of this.channels) c.fail(err);
    };
    // The store host failing at once would let its caller exit before the notice it just broadcast has
    // left the process; the others would then only see "rank 0 exited". Give the notice a head start.
    if (this.hostsStore && first) setTimeout(fail, 300);
    else fail();
  }

  /** A neighbour's socket dropped: tell the store, give its job-wide verdict a moment, then fail anyway. */
  peerLost(channel: RingChannel, rank: number, err: PeerFailureError): void {
    this.store.abort(rank, err.message);
    setTimeout(() => {
      if (this.abortNotice) this.abortAll(this.abortNotice);
      else channel.fail(err);
    }, this.verdictWaitMs);
  }

  /** A collective timed out waiting on `rank`: ask the store who went silent. */
  timedOut(channel: RingChannel, rank: number, what: string): void {
    this.store.reportTimeout(rank, what);
    setTimeout(() => {
      if (this.abortNotice) this.abortAll(this.abortNotice);
      // The store always answers a live reporter, so silence from it means rank 0 itself is stuck.
      else
        channel.fail(
          new CollectiveTimeoutError(
            `rank 0 stopped responding (${what}; its rendezvous store gave no verdict; this rank was waiting on rank ${rank})`,
            0,
          ),
        );
    }, this.verdictWaitMs);
  }
}

/** Kept out of async bodies, where V8 optimises element loops poorly. */
function divideInPlace(buf: Float32Array, d: number): void {
  for (let i = 0; i < buf.length; i++) buf[i] /= d;
}

/**
 * A ring of ranks over TCP. Collectives on one group run one at a time in call order. When every member
 * maps the same shared memory (`useSharedMemory`, set up by `initTcpProcessGroup` on one machine), the data
 * moves through it, the ranks meet at a futex barrier in it, and the ring only reports failures.
 */
export class TcpProcessGroup implements ProcessGroup {
  readonly rank: number;
  readonly size: number;
  readonly globalRank: number;
  readonly localRank: number;
  readonly localSize: number;
  readonly nodeRank: number;
  private seq = 0;
  private tail: Promise<unknown> = Promise.resolve();
  readonly subgroups = new Map<SubgroupKind, ProcessGroup>();
  private arena: SharedArena | null = null;
  /** Why this group moves data over TCP although shared memory was allowed ("" when it uses it). */
  sharedMemoryRefusal = "shared memory not set up";

  constructor(
    private readonly job: JobContext,
    readonly name: string,
    readonly members: readonly number[],
    private readonly channel: RingChannel | null,
  ) {
    const info = job.info;
    this.globalRank = info.rank;
    this.rank = members.indexOf(info.rank);
    this.size = members.length;
    this.localRank = info.localRank;
    this.localSize = info.localWorldSize;
    this.nodeRank = info.nodeRank;
  }

  /** Every member must call this (or not) alike: `initTcpProcessGroup` decides for all of them at once. */
  useSharedMemory(arena: SharedArena): void {
    this.arena = arena;
    this.sharedMemoryRefusal = "";
  }

  /**
   * How this group's data moves: "single-copy" (ranks of one machine read each other's buffers,
   * process_vm_readv; buffers under `singleCopyMinBytes`, 2 MiB, are still staged), "shm" (staged through shared
   * memory), or "tcp" (the ring).
   */
  get dataPath(): "single-copy" | "shm" | "tcp" {
    return this.arena ? (this.arena.remote ? "single-copy" : "shm") : "tcp";
  }

  /** Serialises collectives, tags them with a sequence number, and arms the timeout. */
  private run<T>(op: OpCode, body: (link: RingLink) => Promise<T>): Promise<T> {
    const seq = ++this.seq;
    const task = this.tail.then(async () => {
      const ch = this.channel!;
      if (this.job.aborted) this.job.abortAll(this.job.aborted);
      if (ch.failed) throw ch.failed;
      const what = `${OP_NAMES[op]} #${seq} on the ${this.name} group timed out after ${this.job.timeoutMs} ms`;
      const timer = setTimeout(() => this.job.timedOut(ch, ch.prevRank, what), this.job.timeoutMs);
      timer.unref();
      const link: RingLink = {
        size: this.size,
        index: this.rank,
        send: (step, payload) => ch.send(op, seq, step, payload),
        recv: (step, bytes) => ch.recv(op, seq, step, bytes),
        members: this.members,
        op,
        seq,
        label: `${OP_NAMES[op]} #${seq} on the ${ch.group} ring (previous: rank ${ch.prevRank})`,
        fail: (err) => ch.fail(err),
        peerLost: (rank, err) => this.job.peerLost(ch, rank, err),
        get failed() {
          return ch.failed;
        },
      };
      try {
        return await body(link);
      } finally {
        clearTimeout(timer);
      }
    });
    this.tail = task.catch(() => {});
    return task;
  }

  async allReduce(buf: Float32Array, op: ReduceOp = "sum"): Promise<void> {
    if (this.size === 1) return;
    const n = buf.length;
    const p = this.size;
    const arena = this.arena;
    const reduce = op === "max" ? "max" : "sum";
    await this.run(1, (link) =>
      arena
        ? (arena.singleCopy(buf.byteLength) ? singleCopyAllReduce : shmAllReduce)(link, arena, buf, reduce)
        : ringPass(link, buf, (s) => segmentBounds(n, p, s), 0, 2 * p - 3, op, this.job.pieceElems),
    );
    if (op === "avg") divideInPlace(buf, p);
  }

  async reduceScatter(input: Float32Array, op: ReduceOp = "sum", out?: Float32Array): Promise<Float32Array> {
    const p = this.size;
    if (input.length % p !== 0)
      throw new ShardingError(
        `reduceScatter: input length ${input.length} is not divisible by group size ${p}`,
      );
    const len = input.length / p;
    const result = outputBuffer(out, len, "reduceScatter");
    if (p === 1) {
      result.set(input);
      return result;
    }
    const arena = this.arena;
    const reduce = op === "max" ? "max" : "sum";
    const mine = await this.run(2, (link) =>
      arena
        ? (arena.singleCopy(input.byteLength) ? singleCopyReduceScatter : shmReduceScatter)(
            link,
            arena,
            input,
            result,
            reduce,
          )
        : ringReduceScatter(link, input, result, reduce, this.job.pieceElems),
    );
    if (op === "avg") divideInPlace(mine, p);
    return mine;
  }

  async allGather(chunk: Float32Array, out?: Float32Array): Promise<Float32Array> {
    const p = this.size;
    const len = chunk.length;
    const result = outputBuffer(out, len * p, "allGather");
    result.set(chunk, this.rank * len);
    if (p === 1) return result;
    const arena = this.arena;
    await this.run(3, (link) =>
      arena
        ? (arena.singleCopy(result.byteLength) ? singleCopyAllGather : shmAllGather)(
            link,
            arena,
            chunk,
            result,
          )
        : ringPass(
            link,
            result,
            (s) => [s * len, (s + 1) * len],
            p - 1,
            2 * p - 3,
            "sum",
            this.job.pieceElems,
          ),
    );
    return result;
  }

  async broadcast(buf: Float32Array, root: number): Promise<void> {
    if (!Number.isInteger(root) || root < 0 || root >= this.size)
      throw new ShardingError(
        `broadcast: root ${root} is outside the ${this.name} group of size ${this.size}`,
      );
    if (this.size === 1) return;
    const arena = this.arena;
    await this.run(4, (link) =>
      arena
        ? (arena.singleCopy(buf.byteLength) ? singleCopyBroadcast : shmBroadcast)(link, arena, buf, root)
        : ringBroadcast(link, buf, root, this.job.pieceElems),
    );
  }

  async barrier(): Promise<void> {
    if (this.size === 1) return;
    const arena = this.arena;
    await this.run(5, (link) => (arena ? shmBarrier(link, arena) : ringBarrier(link)));
  }

  subgroup(kind: SubgroupKind): ProcessGroup {
    const g = this.subgroups.get(kind);
    if (!g) return new SoloGroup(this.globalRank, this.localRank, this.localSize, this.nodeRank);
    return g;
  }

  /** Destroying the world group tears the job down for this rank; destroying a subgroup does nothing. */
  async destroy(): Promise<void> {
    if (this.name === "world") await this.job.teardown();
  }
}
