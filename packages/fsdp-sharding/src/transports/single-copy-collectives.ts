import { PeerFailureError } from "../errors.js";
import { type RingLink, segmentBounds } from "./ring-collectives.js";
import type { SharedArena } from "./shared-arena.js";
import { barrier } from "./shm-collectives.js";

/**
 * Collectives among ranks of one machine that may read each other's memory (`arena.remote`): each rank
 * posts where its buffer is, and peers copy straight out of it with process_vm_readv — one copy per
 * byte moved, no staging area, no chunking. Reductions happen block by block in the addon (each
 * source read once, in member order, so results are bit-identical on every rank and equal to a
 * sequential float32 sum). The last barrier of each call keeps every buffer unchanged until no peer
 * reads it any more. Only synchronisation is shared: the arena's futex barrier.
 */

type Remote = NonNullable<SharedArena["remote"]>;

function remoteOf(arena: SharedArena): Remote {
  if (!arena.remote) throw new Error("single-copy collectives need arena.remote");
  return arena.remote;
}

/** Where member `q`'s posted buffer starts, plus `byteOffset`. */
const addressIn = (posted: Float64Array[], q: number, byteOffset: number) =>
  BigInt(posted[q][3]) + BigInt(byteOffset);

/** The same for every member, as the addon's reduction wants them. */
function addresses(posted: Float64Array[], byteOffset: number): BigUint64Array {
  return BigUint64Array.from(posted, (_, q) => addressIn(posted, q, byteOffset));
}

const addressOf = (r: Remote, view: Float32Array) => Number(r.addon.addressOf(view));

/**
 * Whether `pid` still has memory to read. Reading address 0 fails either way; how it fails tells: "Bad
 * address" from a live process, "No such process" once it has exited (even before it is reaped, and
 * already while it is being torn down, which /proc's state does not show yet).
 */
function alive(r: Remote, pid: number): boolean {
  try {
    r.addon.readRemote(pid, 0, new Uint8Array(1));
    return true;
  } catch (e) {
    return !/No such process/.test(String((e as Error).message));
  }
}

/**
 * Runs a read from peers' memory. If it fails because a peer is gone, reports that job-wide (as a
 * dropped socket is) and waits for the ring to fail with the job's verdict, so every rank names the same
 * culprit; any other failure fails the ring at once.
 */
async function fromPeers(link: RingLink, r: Remote, read: () => void): Promise<void> {
  try {
    read();
    return;
  } catch (e) {
    const detail = String((e as Error).message);
    const dead = Array.from(r.pids).findIndex((pid) => !alive(r, pid));
    if (dead < 0) {
      const err = new Error(`${link.label}: ${detail}`);
      link.fail(err);
      throw err;
    }
    const rank = link.members[dead];
    link.peerLost(rank, new PeerFailureError(`rank ${rank} exited during ${link.label} (${detail})`, rank));
    while (!link.failed) await new Promise((done) => setTimeout(done, 5));
    throw link.failed;
  }
}

export async function singleCopyAllReduce(
  link: RingLink,
  arena: SharedArena,
  buf: Float32Array,
  op: "sum" | "max",
): Promise<void> {
  const r = remoteOf(arena);
  const p = link.size;
  const me = link.index;
  const n = buf.length;
  const posted = await barrier(link, arena, n, n > 0 ? addressOf(r, buf) : 0);
  const [a, b] = segmentBounds(n, p, me);
  // My segment: read from every member's buffer (mine included) and reduced in place. Peers read only
  // their own segments of my buffer meanwhile.
  if (b > a)
    await fromPeers(link, r, () =>
      r.addon.reduceRemote(buf.subarray(a, b), r.pids, addresses(posted, a * 4), op),
    );
  await barrier(link, arena, n);
  for (let q = 0; q < p; q++) {
    const [aq, bq] = segmentBounds(n, p, q);
    if (q !== me && bq > aq)
      await fromPeers(link, r, () =>
        r.addon.readRemote(r.pids[q], addressIn(posted, q, aq * 4), buf.subarray(aq, bq)),
      );
  }
  await barrier(link, arena, n);
}

export async function singleCopyReduceScatter(
  link: RingLink,
  arena: SharedArena,
  input: Float32Array,
  out: Float32Array,
  op: "sum" | "max",
): Promise<Float32Array> {
  const r = remoteOf(arena);
  const len = out.length;
  const posted = await barrier(link, arena, input.length, input.length > 0 ? addressOf(r, input) : 0);
  if (len > 0)
    await fromPeers(link, r, () =>
      r.addon.reduceRemote(out, r.pids, addresses(posted, link.index * len * 4), op),
    );
  await barrier(link, arena, input.length);
  return out;
}

/** `out` already holds this rank's chunk in its slot; the others' are read from their `out`. */
export async function singleCopyAllGather(
  link: RingLink,
  arena: SharedArena,
  chunk: Float32Array,
  out: Float32Array,
): Promise<void> {
  const r = remoteOf(arena);
  const len = chunk.length;
  const posted = await barrier(link, arena, len, len > 0 ? addressOf(r, out) : 0);
  if (len > 0)
    for (let q = 0; q < link.size; q++)
      if (q !== link.index)
        await fromPeers(link, r, () =>
          r.addon.readRemote(
            r.pids[q],
            addressIn(posted, q, q * len * 4),
            out.subarray(q * len, (q + 1) * len),
          ),
        );
  await barrier(link, arena, len);
}

export async function singleCopyBroadcast(
  link: RingLink,
  arena: SharedArena,
  buf: Float32Array,
  root: number,
): Promise<void> {
  const r = remoteOf(arena);
  const n = buf.length;
  const posted = await barrier(link, arena, n, n > 0 ? addressOf(r, buf) : 0);
  if (n > 0 && link.index !== root)
    await fromPeers(link, r, () => r.addon.readRemote(r.pids[root], addressIn(posted, root, 0), buf));
  await barrier(link, arena, n);
}
