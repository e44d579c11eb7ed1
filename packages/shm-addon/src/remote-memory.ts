import { loadShmBinding } from "./load-binding.js";

/**
 * Single-copy reads from another process's memory (Linux cross-memory attach, `process_vm_readv`): the
 * kernel copies straight from the peer's pages into ours, with no shared staging area in between. It
 * needs ptrace-level permission over the peer — same user, and Yama's `ptrace_scope` 0 (or the peer
 * having named us its tracer) — so probe once; a refusal throws with `code` "ERR_SHM_PERMISSION".
 * Elsewhere than Linux every read throws (ENOSYS).
 */

/** Where `view`'s first byte lives in this process, for a peer to read (valid while `view` is alive). */
export function addressOf(view: ArrayBufferView | ArrayBuffer): bigint {
  return loadShmBinding().addressOf(view);
}

/** Fills `dst` with `dst.byteLength` bytes of process `pid`'s memory at `address`. */
export function readRemote(pid: number, address: bigint | number, dst: ArrayBufferView): void {
  loadShmBinding().readRemote(pid, address, dst);
}

/**
 * dst[i] = s0[i] ⊕ s1[i] ⊕ … for i < dst.length, source q being `dst.length` floats at
 * (`pids[q]`, `addresses[q]`) — this process included. ⊕ is float32 addition in source order (rounded
 * after each step, as a JS loop does) or, with "max", `Math.max` (NaN wins). Works block by block in two
 * 64 KiB buffers, so each source is read once and `dst` written once; `dst` may be one of the sources.
 */
export function reduceRemote(
  dst: Float32Array,
  pids: Int32Array,
  addresses: BigUint64Array,
  op: "sum" | "max" = "sum",
): void {
  if (pids.length === 0 || pids.length !== addresses.length)
    throw new RangeError(`reduceRemote: ${pids.length} pids for ${addresses.length} addresses`);
  loadShmBinding().reduceRemote(dst, pids, addresses, op === "max" ? 1 : 0);
}
