import { closeSync, constants, openSync, unlinkSync } from "node:fs";
import { loadShmBinding } from "./load-binding.js";

export interface MapSharedFileOptions {
  /**
   * Create the file (it must not exist yet: O_EXCL, mode 0600) and allocate `bytes` in it up front
   * (posix_fallocate: a filesystem too small fails here, code ERR_SHM_NOSPACE, and the file is removed);
   * otherwise open an existing one, which must be at least `bytes` long.
   */
  create: boolean;
}

/**
 * Maps `bytes` of a file — normally one in /dev/shm (tmpfs), so nothing reaches a disk — read-write and
 * shared: every process that maps the same file sees the same memory. The returned ArrayBuffer is the
 * mapping itself (no copy); it stays valid after the file is unlinked, and is unmapped when collected.
 * Errors name the file.
 */
export function mapSharedFile(path: string, bytes: number, opts: MapSharedFileOptions): ArrayBuffer {
  if (!Number.isSafeInteger(bytes) || bytes <= 0)
    throw new RangeError(`mapSharedFile ${path}: bytes must be a positive integer, got ${bytes}`);
  const binding = loadShmBinding();
  const flags = opts.create ? constants.O_RDWR | constants.O_CREAT | constants.O_EXCL : constants.O_RDWR;
  const fd = openSync(path, flags, 0o600);
  try {
    // Allocated now, not on first touch: a full tmpfs would otherwise kill the process with SIGBUS later.
    if (opts.create) binding.reserve(fd, bytes);
    return binding.mapFd(fd, bytes);
  } catch (e) {
    if (opts.create) unlinkSync(path); // ours, and unusable
    const err = new Error(`mapSharedFile ${path}: ${(e as Error).message}`) as Error & { code?: string };
    err.code = (e as { code?: string }).code;
    throw err;
  } finally {
    closeSync(fd);
  }
}
