import { CollectiveTimeoutError, DistributedError, ShardingError } from "../errors.js";
import { outputBuffer } from "../runtime/output-buffer.js";
import type { ProcessGroup, ReduceOp, SubgroupKind } from "../runtime/process-group.js";
import { SoloGroup } from "../runtime/solo-group.js";

/**
 * The parts of `@biomed-llama/mpi-addon` this transport uses. Declared structurally so fsdp-sharding
 * builds, type-checks and runs its TCP transport on machines where the optional addon is absent.
 */
export interface MpiCommunicatorLike {
  readonly rank: number;
  readonly size: number;
  allReduce(buf: Float32Array, op: "sum" | "max"): Promise<void>;
  reduceScatterBlock(input: Float32Array, op: "sum" | "max"): Promise<Float32Array>;
  allGather(chunk: Float32Array): Promise<Float32Array>;
  broadcast(buf: Float32Array, root: number): Promise<void>;
  barrier(): Promise<void>;
  splitShared(label: string, key?: number): Promise<MpiCommunicatorLike>;
  split(color: number, label: string, key?: number): Promise<MpiCommunicatorLike>;
}

export interface MpiAddonModule {
  MpiCommunicator: { world(): MpiCommunicatorLike };
  mpiFinalize(): void;
  mpiAbort(code?: number): never;
}

export const MPI_ADDON_PACKAGE = "@biomed-llama/mpi-addon";
const INSTALL_HINT =
  "apt-get install libopenmpi-dev openmpi-bin, then rebuild: pnpm --filter @biomed-llama/mpi-addon build:native";
/** Pretend nodes of this many consecutive ranks (overrides MPI's shared-memory view; for tests and odd clusters). */
export const MPI_RANKS_PER_NODE_VAR = "BIOMED_LLAMA_MPI_RANKS_PER_NODE";

/** `--transport mpi` was selected but the addon is not installed or not built. One line, says how to fix it. */
export class MpiTransportUnavailableError extends DistributedError {}

/** An MPI call returned an error code (communicators use MPI_ERRORS_RETURN). */
export class MpiCollectiveError extends DistributedError {
  constructor(
    message: string,
    /** e.g. "MPI_Allreduce" */
    readonly mpiCall: string,
    /** World rank that saw the error. */
    readonly rank: number,
  ) {
    super(message);
  }
}

/** Imports the addon by package name; any failure becomes one `MpiTransportUnavailableError` line. */
export async function loadMpiAddon(specifier: string = MPI_ADDON_PACKAGE): Promise<MpiAddonModule> {
  let mod: MpiAddonModule;
  try {
    // A variable specifier keeps bundlers from resolving the optional package at build time.
    mod = (await import(specifier)) as MpiAddonModule;
  } catch (e) {
    const first = String((e as Error).message).split("\n")[0];
    throw new MpiTransportUnavailableError(
      `--transport mpi needs ${specifier}, which could not be loaded (${first}): ${INSTALL_HINT}`,
    );
  }
  if (typeof mod?.MpiCommunicator?.world !== "function")
    throw new MpiTransportUnavailableError(`${specifier} does not export MpiCommunicator: ${INSTALL_HINT}`);
  return mod;
}

export interface InitMpiProcessGroupOptions {
  /** Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Per-collective timeout; default BIOMED_LLAMA_TIMEOUT_MS or 300 000 ms. On expiry the job is aborted. */
  timeoutMs?: number;
  /** Consecutive world ranks per node; default: MPI's shared-memory domains (MPI_COMM_TYPE_SHARED). */
  ranksPerNode?: number;
  /** The addon module; default `await import("@biomed-llama/mpi-addon")`. */
  addon?: MpiAddonModule;
}

/** What all groups of one process share: the addon, the timeout, and whether MPI is finalized. */
class MpiJob {
  finalized = false;
  readonly groups: MpiProcessGroup[] = [];
  /** MPI calls running on worker threads right now. */
  private inFlight = 0;

  constructor(
    readonly addon: MpiAddonModule,
    readonly timeoutMs: number,
    readonly worldRank: number,
  ) {
    process.on("exit", this.onExit);
  }

  /**
   * Node joins its worker threads on exit, and one blocked in an MPI collective never returns, so a
   * process exiting mid-collective (an uncaught error, process.exit in a catch) would hang forever.
   * Abort the MPI job instead: the launcher then stops every rank and reports the failure.
   */
  private readonly onExit = (code: number) => {
    if (this.inFlight === 0 || this.finalized) return;
    process.stderr.write(
      `fsdp-sharding: rank ${this.worldRank} is exiting with ${this.inFlight} MPI call(s) in flight; calling MPI_Abort\n`,
    );
    this.addon.mpiAbort(code || 1);
  };

  finalize(): void {
    this.finalized = true;
    process.off("exit", this.onExit);
    this.addon.mpiFinalize();
  }

  /**
   * Bounds one MPI call. MPI cannot cancel a blocked collective, so a timeout rejects (naming this rank),
   * says so on stderr, and then calls MPI_Abort so mpirun / srun fail the whole job instead of hanging.
   * The abort waits one macrotask so the caller's catch handler can still log (if that handler exits the
   * process first, the exit hook aborts instead).
   */
  guard<T>(what: string, call: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const msg = `${what} timed out after ${this.timeoutMs} ms on rank ${this.worldRank} (a peer died or stopped calling collectives); aborting the job with MPI_Abort`;
        process.stderr.write(`fsdp-sharding: ${msg}\n`);
        reject(new CollectiveTimeoutError(msg, -1));
        setImmediate(() => this.addon.mpiAbort(1));
      }, this.timeoutMs);
      this.inFlight++;
      call().then(
        (v) => {
          this.inFlight--;
          clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          this.inFlight--;
          clearTimeout(timer);
          const n = e as { message?: string; mpiCall?: string; rank?: number };
          reject(
            typeof n?.mpiCall === "string"
              ? new MpiCollectiveError(String(n.message), n.mpiCall, n.rank ?? this.worldRank)
              : e,
          );
        },
      );
    });
  }
}

/** Kept out of async bodies, where V8 optimises element loops poorly. */
function divideInPlace(buf: Float32Array, d: number): void {
  for (let i = 0; i < buf.length; i++) buf[i] /= d;
}

/** A ProcessGroup over an MPI communicator; same semantics as the TCP ring's groups. */
export class MpiProcessGroup implements ProcessGroup {
  readonly rank: number;
  readonly size: number;
  private seq = 0;
  private tail: Promise<unknown> = Promise.resolve();
  /** Set on the world group: the intra-node and inter-node groups. */
  readonly subgroups = new Map<SubgroupKind, ProcessGroup>();
  /** Set on the world group when nodes hold different numbers of ranks (hybrid sharding impossible). */
  unevenNodes: string | null = null;

  constructor(
    private readonly job: MpiJob,
    readonly name: "world" | SubgroupKind,
    private readonly comm: MpiCommunicatorLike,
    readonly globalRank: number,
    readonly members: readonly number[],
    readonly localRank: number,
    readonly localSize: number,
    readonly nodeRank: number,
  ) {
    this.rank = comm.rank;
    this.size = comm.size;
    job.groups.push(this);
  }

  /** Collectives on one group run one at a time in call order, each under the job's timeout. */
  private run<T>(call: string, body: () => Promise<T>): Promise<T> {
    const what = `${call} #${++this.seq} on the ${this.name} group`;
    const task = this.tail.then(() => {
      if (this.job.finalized)
        throw new DistributedError(`${what}: the process group was destroyed (MPI_Finalize already ran)`);
      return this.job.guard(what, body);
    });
    this.tail = task.catch(() => {});
    return task;
  }

  async allReduce(buf: Float32Array, op: ReduceOp = "sum"): Promise<void> {
    if (this.size === 1) return;
    await this.run("MPI_Allreduce", () => this.comm.allReduce(buf, op === "max" ? "max" : "sum"));
    if (op === "avg") divideInPlace(buf, this.size);
  }

  // The addon returns arrays it allocated; a caller's `out` gets a copy (one memcpy of the result).
  async reduceScatter(input: Float32Array, op: ReduceOp = "sum", out?: Float32Array): Promise<Float32Array> {
    const p = this.size;
    if (input.length % p !== 0)
      throw new ShardingError(
        `reduceScatter: input length ${input.length} is not divisible by group size ${p}`,
      );
    if (out) outputBuffer(out, input.length / p, "reduceScatter");
    let mine =
      p === 1
        ? input.slice()
        : await this.run("MPI_Reduce_scatter_block", () =>
            this.comm.reduceScatterBlock(input, op === "max" ? "max" : "sum"),
          );
    if (out) mine = intoOut(out, mine);
    if (op === "avg" && p > 1) divideInPlace(mine, p);
    return mine;
  }

  async allGather(chunk: Float32Array, out?: Float32Array): Promise<Float32Array> {
    if (out) outputBuffer(out, chunk.length * this.size, "allGather");
    const all =
      this.size === 1 ? chunk.slice() : await this.run("MPI_Allgather", () => this.comm.allGather(chunk));
    return out ? intoOut(out, all) : all;
  }

  async broadcast(buf: Float32Array, root: number): Promise<void> {
    if (!Number.isInteger(root) || root < 0 || root >= this.size)
      throw new ShardingError(
        `broadcast: root ${root} is outside the ${this.name} group of size ${this.size}`,
      );
    if (this.size === 1) return;
    await this.run("MPI_Bcast", () => this.comm.broadcast(buf, root));
  }

  async barrier(): Promise<void> {
    if (this.size === 1) return;
    await this.run("MPI_Barrier", () => this.comm.barrier());
  }

  subgroup(kind: SubgroupKind): ProcessGroup {
    if (this.unevenNodes) throw new ShardingError(`subgroup("${kind}"): ${this.unevenNodes}`);
    return (
      this.subgroups.get(kind) ??
      new SoloGroup(this.globalRank, this.localRank, this.localSize, this.nodeRank)
    );
  }

  /**
   * Destroying the world group waits for every queued collective, meets the other ranks at a barrier and
   * calls MPI_Finalize (MPI cannot be re-initialised afterwards). Destroying a subgroup does nothing.
   */
  async destroy(): Promise<void> {
    if (this.name !== "world" || this.job.finalized) return;
    await Promise.all(this.job.groups.map((g) => g.tail));
    await this.barrier();
    this.job.finalize();
  }
}

function positiveInt(v: string | number | undefined, name: string): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new DistributedError(`${name}=${v} is not a positive integer`);
  return n;
}

/** Launcher variables that state the world size; MPI must agree, or ranks were not wired together. */
function checkLauncherAgrees(env: Record<string, string | undefined>, rank: number, size: number): void {
  const checks: [string, number][] = [
    ["OMPI_COMM_WORLD_SIZE", size],
    ["OMPI_COMM_WORLD_RANK", rank],
    // Set by srun for the step; a mismatch means srun started N singletons (no --mpi=pmix).
    ["SLURM_STEP_NUM_TASKS", size],
  ];
  for (const [name, want] of checks) {
    const raw = env[name];
    if (raw === undefined || raw === "" || Number(raw) === want) continue;
    const hint = name.startsWith("SLURM")
      ? "start the step with srun --mpi=pmix (see `srun --mpi=list`) so MPI joins the ranks"
      : "was this process started by a different mpirun than the MPI library the addon was built with?";
    throw new DistributedError(
      `${name}=${raw} but MPI reports world ${name.endsWith("RANK") ? "rank" : "size"} ${want}: ${hint}`,
    );
  }
}

/**
 * The Open MPI transport: MPI_Init_thread, MPI_COMM_WORLD as the world group, and the two hybrid-sharding
 * subgroups from MPI_Comm_split — intra-node = MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) (or blocks of
 * `ranksPerNode`), inter-node = split by local rank. Rank and size come from MPI itself (mpirun, or srun
 * with PMIx); the launcher's variables are only cross-checked.
 */
export async function initMpiProcessGroup(opts: InitMpiProcessGroupOptions = {}): Promise<ProcessGroup> {
  const env = opts.env ?? process.env;
  const timeoutMs =
    opts.timeoutMs ?? positiveInt(env.BIOMED_LLAMA_TIMEOUT_MS, "BIOMED_LLAMA_TIMEOUT_MS") ?? 300_000;
  const ranksPerNode = opts.ranksPerNode ?? positiveInt(env[MPI_RANKS_PER_NODE_VAR], MPI_RANKS_PER_NODE_VAR);
  const addon = opts.addon ?? (await loadMpiAddon());
  let world: MpiCommunicatorLike;
  try {
    world = addon.MpiCommunicator.world();
  } catch (e) {
    const msg = String((e as Error).message).split("\n")[0];
    if ((e as Error).name === "MpiUnavailableError") throw new MpiTransportUnavailableError(msg);
    throw new DistributedError(`MPI initialisation failed: ${msg}`);
  }
  checkLauncherAgrees(env, world.rank, world.size);
  const job = new MpiJob(addon, timeoutMs, world.rank);
  const init = <T>(what: string, call: () => Promise<T>) =>
    job.guard(`${what} during MPI process-group setup`, call);

  if (ranksPerNode !== undefined && world.size % ranksPerNode !== 0)
    throw new DistributedError(
      `${MPI_RANKS_PER_NODE_VAR}=${ranksPerNode} does not divide the MPI world size ${world.size}`,
    );
  const intra = await init("MPI_Comm_split", () =>
    ranksPerNode === undefined
      ? world.splitShared("intra-node", world.rank)
      : world.split(Math.floor(world.rank / ranksPerNode), "intra-node", world.rank),
  );
  const inter = await init("MPI_Comm_split", () => world.split(intra.rank, "inter-node", world.rank));
  const localRank = intra.rank;
  const localSize = intra.size;
  const nodeRank = inter.rank;

  const membersOf = async (c: MpiCommunicatorLike) =>
    Array.from(await init("MPI_Allgather", () => c.allGather(Float32Array.of(world.rank))));
  const worldMembers = Array.from({ length: world.size }, (_, r) => r);
  const intraMembers = await membersOf(intra);
  const interMembers = await membersOf(inter);
  const sizes = Float32Array.of(localSize, -localSize);
  await init("MPI_Allreduce", () => world.allReduce(sizes, "max"));

  const make = (name: "world" | SubgroupKind, c: MpiCommunicatorLike, members: number[]) =>
    new MpiProcessGroup(job, name, c, world.rank, members, localRank, localSize, nodeRank);
  const worldGroup = make("world", world, worldMembers);
  if (sizes[0] !== -sizes[1])
    worldGroup.unevenNodes = `nodes hold between ${-sizes[1]} and ${sizes[0]} ranks; hybrid sharding needs the same number on every node`;
  const solo = () => new SoloGroup(world.rank, localRank, localSize, nodeRank);
  worldGroup.subgroups.set("intra-node", intra.size > 1 ? make("intra-node", intra, intraMembers) : solo());
  worldGroup.subgroups.set("inter-node", inter.size > 1 ? make("inter-node", inter, interMembers) : solo());
  await worldGroup.barrier();
  return worldGroup;
}

function intoOut(out: Float32Array, result: Float32Array): Float32Array {
  out.set(result);
  return out;
}
