import { CollectiveMismatchError } from "../errors.js";
import { OP_NAMES, type OpCode } from "./ring-channel.js";
import { maxInto, type RingLink, segmentBounds } from "./ring-collectives.js";
import type { SharedArena } from "./shared-arena.js";
import { sumInto } from "./simd-add.js";

/**
 * Collectives among ranks of one machine through a `SharedArena`: each chunk is staged once into this
 * rank's region, and peers read it straight from there — no socket, no kernel copy. Ranks meet at the
 * arena's futex barrier between phases (the TCP ring only reports failures). Sums are taken in member order (0, 1, …, p−1),
 * each output element by exactly one rank, so every rank gets bit-identical results, equal to a
 * sequential float32 sum in rank order. Chunks of at most `arena.regionElems` floats bound the memory.
 */

/**
 * The arena's barrier, plus the check that every member is in the same collective (op code, sequence
 * number) with the same length: a mismatch fails the ring (so later collectives fail too) and throws,
 * on every member alike.
 */
export async function barrier(
  link: RingLink,
  arena: SharedArena,
  length: number,
  address = 0,
): Promise<Float64Array[]> {
  const posted = await arena.barrier([link.op, link.seq, length, address], () => link.failed);
  const other = posted.findIndex((c) => c[0] !== link.op || c[1] !== link.seq || c[2] !== length);
  if (other >= 0) {
    const [op, seq, n] = posted[other];
    const err = new CollectiveMismatchError(
      `collective mismatch in ${link.label}: group rank ${other} sent ${OP_NAMES[op as OpCode] ?? `op ${op}`} #${seq} ` +
        `with ${n} elements while this rank has ${length}`,
    );
    link.fail(err);
    throw err;
  }
  return posted;
}

/**
 * dst = part(0) ⊕ part(1) ⊕ … in member order (⊕ = + or max); each source read once. `dst` must not
 * alias a source.
 */
function reduceParts(
  dst: Float32Array,
  p: number,
  part: (q: number) => Float32Array,
  op: "sum" | "max",
): void {
  const sources = Array.from({ length: p }, (_, q) => part(q));
  if (op === "sum") {
    sumInto(dst, sources);
    return;
  }
  maxInto(dst, sources[0], sources[1]);
  for (let q = 2; q < p; q++) maxInto(dst, dst, sources[q]);
}

/** Chunk starts: at least one chunk, even for an empty buffer, so mismatched lengths still meet a barrier. */
function chunkStarts(n: number, chunk: number): number[] {
  const out: number[] = [];
  for (let c = 0; c === 0 || c < n; c += chunk) out.push(c);
  return out;
}

/** In place; `op` "avg" is applied by the caller. */
export async function shmAllReduce(
  link: RingLink,
  arena: SharedArena,
  buf: Float32Array,
  op: "sum" | "max",
): Promise<void> {
  const p = link.size;
  const me = link.index;
  const n = buf.length;
  for (const c0 of chunkStarts(n, arena.regionElems)) {
    const m = Math.min(arena.regionElems, n - c0);
    const set = arena.nextSet();
    const mine = arena.region(set, me);
    const [a, b] = segmentBounds(m, p, me);
    // Peers read only their own segments of this region: stage everything but mine.
    mine.set(buf.subarray(c0, c0 + a));
    mine.set(buf.subarray(c0 + b, c0 + m), b);
    await barrier(link, arena, n);
    if (b > a) {
      // My segment's slot in my region is free: reduce into it (my term straight from `buf`), publish it
      // there for the peers, and copy it back.
      const dst = mine.subarray(a, b);
      const own = buf.subarray(c0 + a, c0 + b);
      reduceParts(dst, p, (q) => (q === me ? own : arena.region(set, q).subarray(a, b)), op);
      own.set(dst);
    }
    await barrier(link, arena, n);
    for (let q = 0; q < p; q++) {
      if (q === me) continue;
      const [aq, bq] = segmentBounds(m, p, q);
      buf.set(arena.region(set, q).subarray(aq, bq), c0 + aq);
    }
  }
}

/** `input` holds p segments of `out.length`; this rank's reduced segment lands in `out`. */
export async function shmReduceScatter(
  link: RingLink,
  arena: SharedArena,
  input: Float32Array,
  out: Float32Array,
  op: "sum" | "max",
): Promise<Float32Array> {
  const p = link.size;
  const me = link.index;
  const len = out.length;
  const per = Math.floor(arena.regionElems / p);
  for (const j0 of chunkStarts(len, per)) {
    const m = Math.min(per, len - j0);
    const set = arena.nextSet();
    const mine = arena.region(set, me);
    const slice = (q: number) => input.subarray(q * len + j0, q * len + j0 + m);
    // Peer q reads only slot q of this region; my own segment stays in `input`.
    for (let q = 0; q < p; q++) if (q !== me) mine.set(slice(q), q * m);
    await barrier(link, arena, input.length);
    if (m > 0)
      reduceParts(
        out.subarray(j0, j0 + m),
        p,
        (q) => (q === me ? slice(me) : arena.region(set, q).subarray(me * m, (me + 1) * m)),
        op,
      );
  }
  return out;
}

/** `out` already holds this rank's chunk in its slot; the others' are copied in. */
export async function shmAllGather(
  link: RingLink,
  arena: SharedArena,
  chunk: Float32Array,
  out: Float32Array,
): Promise<void> {
  const p = link.size;
  const me = link.index;
  const len = chunk.length;
  for (const j0 of chunkStarts(len, arena.regionElems)) {
    const m = Math.min(arena.regionElems, len - j0);
    const set = arena.nextSet();
    arena.region(set, me).set(chunk.subarray(j0, j0 + m));
    await barrier(link, arena, len);
    for (let q = 0; q < p; q++) if (q !== me) out.set(arena.region(set, q).subarray(0, m), q * len + j0);
  }
}

/** In place, from group rank `root`. */
export async function shmBroadcast(
  link: RingLink,
  arena: SharedArena,
  buf: Float32Array,
  root: number,
): Promise<void> {
  const n = buf.length;
  for (const c0 of chunkStarts(n, arena.regionElems)) {
    const m = Math.min(arena.regionElems, n - c0);
    const set = arena.nextSet();
    if (link.index === root) arena.region(set, root).set(buf.subarray(c0, c0 + m));
    await barrier(link, arena, n);
    if (link.index !== root) buf.set(arena.region(set, root).subarray(0, m), c0);
  }
}

/** A barrier of the group (checked like any collective's). */
export async function shmBarrier(link: RingLink, arena: SharedArena): Promise<void> {
  await barrier(link, arena, 0);
}
