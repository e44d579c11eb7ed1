import { existsSync } from "node:fs";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** What to run to get the addon, in one line (quoted by every "not available" error). */
export const MPI_INSTALL_HINT =
  "apt-get install libopenmpi-dev openmpi-bin, then rebuild: pnpm --filter @biomed-llama/mpi-addon build:native";

/** The native addon is not built, or was built against an MPI that is no longer installed. */
export class MpiUnavailableError extends Error {
  constructor(reason: string) {
    super(`Open MPI transport unavailable (${reason}): ${MPI_INSTALL_HINT}`);
    this.name = "MpiUnavailableError";
  }
}

/** An MPI call returned an error (communicators use MPI_ERRORS_RETURN); names the call and world rank. */
export class MpiError extends Error {
  constructor(
    message: string,
    /** e.g. "MPI_Allreduce" */
    readonly mpiCall: string,
    /** World rank of the process that saw the error. */
    readonly rank: number,
    /** MPI error class (MPI_ERR_ROOT, MPI_ERR_TRUNCATE, ...). */
    readonly errorClass: number,
  ) {
    super(message);
    this.name = "MpiError";
  }
}

export type MpiReduceOp = "sum" | "max";

/** The raw native surface (src/addon.cc). Communicators are integer ids; id 0 is MPI_COMM_WORLD. */
export interface MpiBinding {
  init(): { rank: number; size: number; threadLevel: "multiple" | "serialized" | "funneled"; world: number };
  commInfo(comm: number): { rank: number; size: number; label: string };
  allreduce(comm: number, buf: Float32Array, op: MpiReduceOp): Promise<void>;
  reduceScatterBlock(comm: number, input: Float32Array, output: Float32Array, op: MpiReduceOp): Promise<void>;
  allgather(comm: number, chunk: Float32Array, output: Float32Array): Promise<void>;
  bcast(comm: number, buf: Float32Array, root: number): Promise<void>;
  barrier(comm: number): Promise<void>;
  splitShared(comm: number, key: number, label: string): Promise<number>;
  split(comm: number, color: number, key: number, label: string): Promise<number>;
  finalize(): void;
  abort(code: number): never;
  libraryVersion(): string;
  state(): "uninitialized" | "initialized" | "finalized";
}

/** build/Release/mpi_addon.node next to this package's dist/ (also right when running from src/). */
export function defaultNativePath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "build", "Release", "mpi_addon.node");
}

let cached: { path: string; binding: MpiBinding } | null = null;

/**
 * Loads the native addon once per process. RTLD_GLOBAL matters: Open MPI loads its transport plugins
 * with dlopen, and they resolve symbols from libmpi, which must therefore be globally visible.
 */
export function loadMpiBinding(nativePath: string = defaultNativePath()): MpiBinding {
  if (cached) {
    if (cached.path !== nativePath)
      throw new Error(`the MPI addon is already loaded from ${cached.path}; cannot load ${nativePath} too`);
    return cached.binding;
  }
  if (!existsSync(nativePath))
    throw new MpiUnavailableError(`native addon not built: ${nativePath} does not exist`);
  const mod = { exports: {} as MpiBinding };
  try {
    process.dlopen(mod, nativePath, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL);
  } catch (e) {
    const first = String((e as Error).message).split("\n")[0];
    throw new MpiUnavailableError(`cannot load ${nativePath}: ${first}`);
  }
  cached = { path: nativePath, binding: mod.exports };
  return mod.exports;
}

/** True when the native addon file exists (it may still fail to load if MPI was uninstalled since). */
export function isMpiAddonBuilt(nativePath: string = defaultNativePath()): boolean {
  return existsSync(nativePath);
}
