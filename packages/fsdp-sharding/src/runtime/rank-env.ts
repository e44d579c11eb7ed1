import { RankEnvError } from "../errors.js";

type Env = Record<string, string | undefined>;

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

function int(env: Env, name: string, min = 0): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  if (!/^\s*\d+\s*$/.test(raw))
    throw new RankEnvError(`${name}=${JSON.stringify(raw)} is not a non-negative integer`);
  const v = Number.parseInt(raw, 10);
  if (v < min) throw new RankEnvError(`${name}=${v} must be >= ${min}`);
  return v;
}

function need(env: Env, name: string, min = 0): number {
  const v = int(env, name, min);
  if (v === undefined) throw new RankEnvError(`${name} is not set`);
  return v;
}

/**
 * SLURM_TASKS_PER_NODE is compressed, e.g. "4(x2),3" = [4,4,3]. We only need the count on our node,
 * which is the entry for SLURM_NODEID.
 */
export function expandSlurmTasksPerNode(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(",")) {
    const m = /^(\d+)(?:\(x(\d+)\))?$/.exec(part.trim());
    if (!m)
      throw new RankEnvError(`SLURM_TASKS_PER_NODE=${JSON.stringify(spec)} is not in SLURM's "N(xM),K" form`);
    const reps = m[2] ? Number(m[2]) : 1;
    for (let i = 0; i < reps; i++) out.push(Number(m[1]));
  }
  return out;
}

/**
 * First host of a SLURM node list: "gpu[003-005,010],cpu1" → "gpu003". Enough for the master address;
 * the full expansion (scontrol show hostnames) is not needed.
 */
export function firstSlurmHost(nodelist: string): string {
  const m = /^([^,[]+)(?:\[([^\]]+)\])?/.exec(nodelist.trim());
  if (!m) throw new RankEnvError(`SLURM node list ${JSON.stringify(nodelist)} is not parseable`);
  if (!m[2]) return m[1];
  const first = m[2].split(",")[0].split("-")[0];
  return m[1] + first;
}

function check(name: string, value: number, limitName: string, limit: number): void {
  if (value >= limit) throw new RankEnvError(`${name}=${value} must be < ${limitName}=${limit}`);
}

function finish(info: RankInfo, nodeVar: string): RankInfo {
  check("rank", info.rank, "world size", info.worldSize);
  if (info.worldSize % info.localWorldSize !== 0)
    throw new RankEnvError(
      `world size ${info.worldSize} is not a multiple of the per-node size ${info.localWorldSize} (uneven nodes are not supported)`,
    );
  info.numNodes = info.worldSize / info.localWorldSize;
  check(nodeVar, info.nodeRank, "number of nodes", info.numNodes);
  // Ranks are laid out node-major (what torchrun, srun --distribution=block and mpirun --map-by slot do);
  // the hybrid subgroups rely on it, so refuse a layout we would misinterpret.
  const expect = info.nodeRank * info.localWorldSize + info.localRank;
  if (info.rank !== expect)
    throw new RankEnvError(
      `rank ${info.rank} is not node-major: expected ${nodeVar}*local_world_size+local_rank = ${expect}`,
    );
  if (!(info.masterPort > 0 && info.masterPort < 65536))
    throw new RankEnvError(`MASTER_PORT=${info.masterPort} is not a TCP port`);
  return info;
}

/**
 * Reads where this process sits in the job. Precedence: torchrun variables (RANK + WORLD_SIZE) win, then
 * SLURM (SLURM_PROCID + SLURM_NTASKS), then OpenMPI (OMPI_COMM_WORLD_RANK + _SIZE); with none of them, a
 * single-process job. MASTER_ADDR / MASTER_PORT always override what a scheduler implies.
 */
export function rankInfoFromEnv(env: Env = process.env): RankInfo {
  const masterPortEnv = int(env, "MASTER_PORT", 1);
  if (env.RANK !== undefined || env.WORLD_SIZE !== undefined) {
    const worldSize = need(env, "WORLD_SIZE", 1);
    const rank = need(env, "RANK");
    check("RANK", rank, "WORLD_SIZE", worldSize);
    const localWorldSize = int(env, "LOCAL_WORLD_SIZE", 1) ?? worldSize;
    if (worldSize % localWorldSize !== 0)
      throw new RankEnvError(
        `WORLD_SIZE=${worldSize} is not a multiple of LOCAL_WORLD_SIZE=${localWorldSize}`,
      );
    const localRank = int(env, "LOCAL_RANK") ?? rank % localWorldSize;
    check("LOCAL_RANK", localRank, "LOCAL_WORLD_SIZE", localWorldSize);
    const nodeVar = env.GROUP_RANK !== undefined ? "GROUP_RANK" : "NODE_RANK";
    const nodeRank = int(env, nodeVar) ?? Math.floor(rank / localWorldSize);
    if (worldSize > 1 && !env.MASTER_ADDR)
      throw new RankEnvError("MASTER_ADDR is not set (needed when WORLD_SIZE > 1)");
    if (worldSize > 1 && masterPortEnv === undefined)
      throw new RankEnvError("MASTER_PORT is not set (needed when WORLD_SIZE > 1)");
    return finish(
      {
        rank,
        worldSize,
        localRank,
        localWorldSize,
        nodeRank,
        numNodes: 1,
        masterAddr: env.MASTER_ADDR ?? "127.0.0.1",
        masterPort: masterPortEnv ?? 29500,
        source: "torchrun",
      },
      nodeVar,
    );
  }
  if (env.SLURM_PROCID !== undefined && env.SLURM_NTASKS !== undefined) {
    const worldSize = need(env, "SLURM_NTASKS", 1);
    const rank = need(env, "SLURM_PROCID");
    check("SLURM_PROCID", rank, "SLURM_NTASKS", worldSize);
    const nodeRank = int(env, "SLURM_NODEID") ?? 0;
    let localWorldSize = int(env, "SLURM_NTASKS_PER_NODE", 1);
    if (localWorldSize === undefined && env.SLURM_TASKS_PER_NODE) {
      const perNode = expandSlurmTasksPerNode(env.SLURM_TASKS_PER_NODE);
      if (new Set(perNode).size !== 1)
        throw new RankEnvError(
          `SLURM_TASKS_PER_NODE=${env.SLURM_TASKS_PER_NODE} is uneven; use the same number of tasks on every node`,
        );
      localWorldSize = perNode[0];
    }
    localWorldSize ??= worldSize;
    const localRank = int(env, "SLURM_LOCALID") ?? rank % localWorldSize;
    check("SLURM_LOCALID", localRank, "tasks per node", localWorldSize);
    const nodelist = env.SLURM_STEP_NODELIST ?? env.SLURM_JOB_NODELIST ?? env.SLURM_NODELIST;
    const masterAddr = env.MASTER_ADDR ?? (nodelist ? firstSlurmHost(nodelist) : undefined);
    if (worldSize > 1 && !masterAddr)
      throw new RankEnvError("MASTER_ADDR is not set and SLURM_STEP_NODELIST / SLURM_JOB_NODELIST are empty");
    const jobId = int(env, "SLURM_JOB_ID");
    // Derive a port from the job id so concurrent jobs sharing a first node do not collide.
    const masterPort = masterPortEnv ?? (jobId !== undefined ? 20000 + (jobId % 20000) : 29500);
    return finish(
      {
        rank,
        worldSize,
        localRank,
        localWorldSize,
        nodeRank,
        numNodes: 1,
        masterAddr: masterAddr ?? "127.0.0.1",
        masterPort,
        source: "slurm",
      },
      "SLURM_NODEID",
    );
  }
  if (env.OMPI_COMM_WORLD_RANK !== undefined || env.OMPI_COMM_WORLD_SIZE !== undefined) {
    const worldSize = need(env, "OMPI_COMM_WORLD_SIZE", 1);
    const rank = need(env, "OMPI_COMM_WORLD_RANK");
    check("OMPI_COMM_WORLD_RANK", rank, "OMPI_COMM_WORLD_SIZE", worldSize);
    const localWorldSize = int(env, "OMPI_COMM_WORLD_LOCAL_SIZE", 1) ?? worldSize;
    const localRank = int(env, "OMPI_COMM_WORLD_LOCAL_RANK") ?? rank % localWorldSize;
    check("OMPI_COMM_WORLD_LOCAL_RANK", localRank, "OMPI_COMM_WORLD_LOCAL_SIZE", localWorldSize);
    // Not OMPI_COMM_WORLD_NODE_RANK: despite its name it is the rank among processes on this node
    // (mpirun -np 2 on one host sets 0 and 1), not the node's index. The node-major check in finish()
    // refuses layouts where rank / local size would not be the node.
    const nodeVar = "OMPI_COMM_WORLD_RANK / OMPI_COMM_WORLD_LOCAL_SIZE";
    const nodeRank = Math.floor(rank / localWorldSize);
    // The mpi transport needs no rendezvous address: MPI_Init wires the ranks up.
    if (worldSize > localWorldSize && !env.MASTER_ADDR && env.BIOMED_LLAMA_TRANSPORT !== "mpi")
      throw new RankEnvError("MASTER_ADDR is not set (mpirun does not say which host runs rank 0)");
    return finish(
      {
        rank,
        worldSize,
        localRank,
        localWorldSize,
        nodeRank,
        numNodes: 1,
        masterAddr: env.MASTER_ADDR ?? "127.0.0.1",
        masterPort: masterPortEnv ?? 29500,
        source: "openmpi",
      },
      nodeVar,
    );
  }
  return {
    rank: 0,
    worldSize: 1,
    localRank: 0,
    localWorldSize: 1,
    nodeRank: 0,
    numNodes: 1,
    masterAddr: env.MASTER_ADDR ?? "127.0.0.1",
    masterPort: masterPortEnv ?? 29500,
    source: "single",
  };
}
