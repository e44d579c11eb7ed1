import { DistributedError } from "../errors.js";
import { initMpiProcessGroup } from "../transports/transport-mpi.js";
import { initTcpProcessGroup } from "../transports/transport-tcp.js";
import type { ProcessGroup } from "./process-group.js";

export interface InitProcessGroupOptions {
  /** Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Per-collective timeout; default BIOMED_LLAMA_TIMEOUT_MS or 300 000 ms. Also bounds rendezvous (×2). */
  timeoutMs?: number;
  /** Elements per frame in the pipelined ring (default 2^18 = 1 MiB); smaller overlaps more, costs more frames. */
  pieceElems?: number;
  /** "tcp" (our ring, the default) or "mpi" (Open MPI via @biomed-llama/mpi-addon); default BIOMED_LLAMA_TRANSPORT. */
  transport?: "tcp" | "mpi";
  /**
   * Collectives among ranks that share a machine move their data through shared memory
   * (@biomed-llama/shm-addon, a file in /dev/shm) and use the ring only to synchronise: "auto" (where
   * every member of a group can map it), "off", or "required" (fail unless the intra-node group can).
   * Default BIOMED_LLAMA_SHM (auto | 0 | 1).
   */
  sharedMemory?: "auto" | "off" | "required";
  /** Floats each rank stages at a time in shared memory; default BIOMED_LLAMA_SHM_MB (16 MiB). */
  sharedMemoryRegionElems?: number;
  /** Smaller collectives (bytes) stage through shared memory even where single-copy works; default 2 MiB. */
  singleCopyMinBytes?: number;
}

/** Picks the transport when `initProcessGroup` is not told: "tcp" (default) or "mpi". */
export const TRANSPORT_VAR = "BIOMED_LLAMA_TRANSPORT";

type Env = Record<string, string | undefined>;

/**
 * Every transport, under the name `transport` / BIOMED_LLAMA_TRANSPORT selects it by — the one place that
 * knows them. Each turns the launcher's environment into a world `ProcessGroup` whose "intra-node" and
 * "inter-node" subgroups are ready; nothing above this file sees which one runs.
 */
const TRANSPORTS: Record<string, (env: Env, opts: InitProcessGroupOptions) => Promise<ProcessGroup>> = {
  tcp: initTcpProcessGroup,
  mpi: (env, opts) => initMpiProcessGroup({ env, timeoutMs: opts.timeoutMs }),
};

/**
 * torch.distributed.init_process_group for this package: reads the launcher's variables and hands them
 * to the selected transport (default "tcp", our ring), which returns the world group.
 */
export async function initProcessGroup(opts: InitProcessGroupOptions = {}): Promise<ProcessGroup> {
  const env = opts.env ?? process.env;
  const transport = opts.transport ?? (env[TRANSPORT_VAR] || "tcp");
  if (!Object.hasOwn(TRANSPORTS, transport))
    throw new DistributedError(
      `${TRANSPORT_VAR}=${transport} is not ${Object.keys(TRANSPORTS)
        .map((t) => JSON.stringify(t))
        .join(" or ")}`,
    );
  return TRANSPORTS[transport](env, opts);
}
