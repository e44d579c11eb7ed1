export { dataPathOf, describeDataPaths } from "./data-paths.js";
export {
  AuthenticationError,
  CollectiveMismatchError,
  CollectiveTimeoutError,
  DistributedError,
  PeerFailureError,
  RankEnvError,
  ShardingError,
} from "./errors.js";
export { FlatParamUnit, reshardChunks } from "./flat-param-unit.js";
export { freePort } from "./free-port.js";
export {
  ADDR_VAR,
  type InitProcessGroupOptions,
  initProcessGroup,
  SECRET_VAR,
} from "./init-process-group.js";
export { LaunchError, type LaunchOptions, type LaunchResult, launch, launchJob } from "./launch.js";
export { expandSlurmTasksPerNode, firstSlurmHost, rankInfoFromEnv } from "./rank-env.js";
export { ShardedDataParallel, type ShardedDataParallelOptions } from "./sharded-data-parallel.js";
export {
  readShardedStateFile,
  readShardedStateFiles,
  SHARDED_STATE_KEY,
  type ShardedStateFile,
  shardedStateFileName,
  writeShardedStateFile,
} from "./sharded-state-files.js";
export { SHM_DIR_VAR, SHM_MB_VAR, SHM_SINGLE_COPY_VAR, SHM_VAR } from "./shared-arena.js";
export { SoloGroup } from "./solo-group.js";
export { TcpProcessGroup } from "./tcp-process-group.js";
export {
  type InitMpiProcessGroupOptions,
  initMpiProcessGroup,
  loadMpiAddon,
  MPI_RANKS_PER_NODE_VAR,
  MpiCollectiveError,
  MpiProcessGroup,
  MpiTransportUnavailableError,
  TRANSPORT_VAR,
} from "./transport-mpi.js";
export type {
  ParamSpec,
  ProcessGroup,
  RankInfo,
  ReduceOp,
  ShardedState,
  ShardingStrategy,
  SubgroupKind,
  UnitShard,
  UnitSpec,
} from "./types.js";
