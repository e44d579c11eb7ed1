// Three floors, each depending only on the ones below it: FSDP (src/fsdp) sees a job only through the
// `ProcessGroup` interface; the runtime (src/runtime) starts ranks, meets them and hands out process
// groups; the transports (src/transports) move the bytes, and `initProcessGroup` picks one.

// Errors (every floor)
export {
  AuthenticationError,
  CollectiveMismatchError,
  CollectiveTimeoutError,
  DistributedError,
  PeerFailureError,
  RankEnvError,
  ShardingError,
} from "./errors.js";

// FSDP: units, strategies, sharded state
export { FlatParamUnit, reshardChunks } from "./fsdp/flat-param-unit.js";
export {
  ShardedDataParallel,
  type ShardedDataParallelOptions,
  type UnitBufferOptions,
} from "./fsdp/sharded-data-parallel.js";
export {
  readShardedStateFile,
  readShardedStateFiles,
  SHARDED_STATE_KEY,
  type ShardedStateFile,
  shardedStateFileName,
  writeShardedStateFile,
} from "./fsdp/sharded-state-files.js";
export type { ParamSpec, ShardedState, ShardingStrategy, UnitShard, UnitSpec } from "./fsdp/types.js";

// Runtime: process groups, rendezvous, launcher
export { dataPathOf, describeDataPaths } from "./runtime/data-paths.js";
export { freePort } from "./runtime/free-port.js";
export { SECRET_VAR } from "./runtime/handshake.js";
export {
  type InitProcessGroupOptions,
  initProcessGroup,
  TRANSPORT_VAR,
} from "./runtime/init-process-group.js";
export { LaunchError, type LaunchOptions, type LaunchResult, launch, launchJob } from "./runtime/launch.js";
export type { ProcessGroup, ReduceOp, SubgroupKind } from "./runtime/process-group.js";
export {
  expandSlurmTasksPerNode,
  firstSlurmHost,
  type RankInfo,
  rankInfoFromEnv,
} from "./runtime/rank-env.js";
export { SoloGroup } from "./runtime/solo-group.js";

// Transports: the TCP ring (with shared memory between ranks of one machine) and Open MPI
export { SHM_DIR_VAR, SHM_MB_VAR, SHM_SINGLE_COPY_VAR, SHM_VAR } from "./transports/shared-arena.js";
export { TcpProcessGroup } from "./transports/tcp-process-group.js";
export {
  type InitMpiProcessGroupOptions,
  initMpiProcessGroup,
  loadMpiAddon,
  MPI_RANKS_PER_NODE_VAR,
  MpiCollectiveError,
  MpiProcessGroup,
  MpiTransportUnavailableError,
} from "./transports/transport-mpi.js";
export { ADDR_VAR } from "./transports/transport-tcp.js";
