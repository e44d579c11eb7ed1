/** Why a file operation failed, in words a user can act on, keyed by errno code. */
const REASONS: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EFBIG: "file too large (file system limit or the process's file size limit, ulimit -f)",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "is a directory",
  EEXIST: "already exists",
  EIO: "input/output error",
  EMFILE: "too many open files",
};

/**
 * An error of a write or read of `path` as one line naming the path: Node's own messages name no
 * path for writes through a file descriptor ("ENOSPC: no space left on device, write"). The errno
 * code stays on `.code` and the original error on `.cause`. Anything that is not an errno error is
 * returned as it is.
 */
export function ioError(err: unknown, path: string): Error {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== "string")
    return err instanceof Error ? err : new Error(String(err));
  if (e.message.startsWith(`${path}: `)) return e;
  const reason = REASONS[e.code] ?? e.message.replace(/^[A-Z]+: /, "").replace(/, \w+( '.*')?$/, "");
  const out = new Error(`${path}: ${reason} (${e.code})`, { cause: err }) as NodeJS.ErrnoException;
  out.code = e.code;
  return out;
}

/** Runs `fn`, rethrowing an errno error as ioError(err, path). */
export function withPath<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw ioError(e, path);
  }
}
