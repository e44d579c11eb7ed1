import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** What to run to get the addon, in one line (quoted by every "not available" error). */
export const SHM_INSTALL_HINT =
  "pnpm --filter @biomed-llama/shm-addon build:native (needs a C compiler and Node headers)";

/** The native addon is not built, or cannot be loaded in this process. */
export class ShmUnavailableError extends Error {
  constructor(reason: string) {
    super(`shared-memory addon unavailable (${reason}): ${SHM_INSTALL_HINT}`);
    this.name = "ShmUnavailableError";
  }
}

/** The raw native surface (src/addon.c). Throws Error with code ERR_SHM_ARGUMENT / ERR_SHM_SYSTEM. */
export interface ShmBinding {
  /** The first `bytes` of open file `fd`, mapped read-write and shared; unmapped when collected. */
  mapFd(fd: number, bytes: number): ArrayBuffer;
  /** posix_fallocate(fd, 0, bytes): throws (code ERR_SHM_NOSPACE) when the filesystem cannot hold it. */
  reserve(fd: number, bytes: number): void;
  /** Sequentially consistent atomics on the int32 at `byteOffset` (4-aligned) of `ab`. */
  atomicLoad(ab: ArrayBuffer, byteOffset: number): number;
  atomicStore(ab: ArrayBuffer, byteOffset: number, value: number): void;
  /** Returns the value before adding. */
  atomicAdd(ab: ArrayBuffer, byteOffset: number, delta: number): number;
  /**
   * Blocks the thread while the int32 equals `expected`, up to `timeoutMicros` (spinning the first
   * `spinMicros`, default 0): 1 if it changed, 0 on timeout.
   */
  waitWhileEqual(
    ab: ArrayBuffer,
    byteOffset: number,
    expected: number,
    timeoutMicros: number,
    spinMicros?: number,
  ): number;
  /** Wakes every thread, in any process, blocked in `waitWhileEqual` on that int32. */
  wakeAll(ab: ArrayBuffer, byteOffset: number): void;
  addressOf(view: ArrayBufferView | ArrayBuffer): bigint;
  readRemote(pid: number, address: bigint | number, dst: ArrayBufferView): void;
  reduceRemote(dst: Float32Array, pids: Int32Array, addresses: BigUint64Array, op: 0 | 1): void;
}

/** build/Release/shm_addon.node next to this package's dist/ (also right when running from src/). */
export function defaultNativePath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "build", "Release", "shm_addon.node");
}

let cached: { path: string; binding: ShmBinding } | null = null;

/** Loads the native addon once per process; `ShmUnavailableError` (one line, says how to build it) otherwise. */
export function loadShmBinding(nativePath: string = defaultNativePath()): ShmBinding {
  if (cached) {
    if (cached.path !== nativePath)
      throw new Error(`the shm addon is already loaded from ${cached.path}; cannot load ${nativePath} too`);
    return cached.binding;
  }
  if (!existsSync(nativePath))
    throw new ShmUnavailableError(`native addon not built: ${nativePath} does not exist`);
  const mod = { exports: {} as ShmBinding };
  try {
    process.dlopen(mod, nativePath);
  } catch (e) {
    const first = String((e as Error).message).split("\n")[0];
    throw new ShmUnavailableError(`cannot load ${nativePath}: ${first}`);
  }
  cached = { path: nativePath, binding: mod.exports };
  return mod.exports;
}

/** True when the native addon file exists. */
export function isShmAddonBuilt(nativePath: string = defaultNativePath()): boolean {
  return existsSync(nativePath);
}
