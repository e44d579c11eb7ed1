import type { PeerFailureError } from "../errors.js";
import { bytesOf, floatsOf } from "../runtime/framing.js";
import { scratchFloats } from "../runtime/output-buffer.js";
import type { ReduceOp } from "../runtime/process-group.js";
import { addInto } from "./simd-add.js";

/**
 * What the ring algorithms need from a transport: this rank's place in the ring, a send to the next rank
 * and a receive from the previous one, both tagged with a step number. The TCP channel provides it; an
 * MPI transport could provide the same with MPI_Isend / MPI_Recv.
 */
export interface RingLink {
  readonly size: number;
  readonly index: number;
  send(step: number, payload: Uint8Array): Promise<void>;
  recv(step: number, bytes: number): Promise<Buffer>;
  /** Global ranks of the ring's members, in ring order. */
  readonly members: readonly number[];
  /** The collective's op code and sequence number on its group (what frames are tagged with). */
  readonly op: number;
  readonly seq: number;
  /** Names the collective in errors, e.g. "allReduce #3 on the world ring (previous: rank 1)". */
  readonly label: string;
  /** Stops the link for good: this and every later collective on it reject with `err`. */
  fail(err: Error): void;
  /**
   * A peer is gone (noticed outside the link, e.g. its memory vanished): report it job-wide, as a dropped
   * socket is, so every rank fails naming the same culprit; the link fails once the verdict is in.
   */
  peerLost(rank: number, err: PeerFailureError): void;
  /** Why the link stopped (a peer failed, the job aborted, the collective timed out), else null. */
  readonly failed: Error | null;
}

/** Elements per frame. Big enough to amortise per-frame overhead, small enough to overlap steps. */
export const DEFAULT_PIECE_ELEMS = 1 << 18;

/** Segment s of n elements split p ways: [floor(s*n/p), floor((s+1)*n/p)). */
export function segmentBounds(n: number, p: number, s: number): [number, number] {
  return [Math.floor((s * n) / p), Math.floor(((s + 1) * n) / p)];
}

/** Always at least one (possibly empty) piece, so even empty buffers exchange tagged frames. */
function pieces(start: number, end: number, pieceElems: number): [number, number][] {
  const out: [number, number][] = [];
  for (let a = start; a < end; a += pieceElems) out.push([a, Math.min(end, a + pieceElems)]);
  if (out.length === 0) out.push([start, start]);
  return out;
}

const mod = (a: number, p: number) => ((a % p) + p) % p;

// The element loops live in plain functions: inside a resumable async body V8 optimises them poorly
// (measured ~40x slower), and they are the whole arithmetic cost of a collective.
export function maxInto(dst: Float32Array, a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] = Math.max(a[i], b[i]);
}

/**
 * The ring schedule behind all-reduce and all-gather (in place in `buf`; reduce-scatter has its own,
 * `ringReduceScatter`, which keeps only what is in flight). At step t rank r sends segment
 * (r-t-1) and receives segment (r-t-2) from its predecessor; for t < P-1 it adds what it receives (after
 * which it owns the fully reduced segment r), later it overwrites (all-gather). The segment received at
 * step t is the one sent at t+1, so each piece is forwarded as soon as it has been reduced: steps overlap
 * piece by piece instead of waiting for whole segments (the pipelining Gloo and NCCL do).
 */
export async function ringPass(
  link: RingLink,
  buf: Float32Array,
  bounds: (seg: number) => [number, number],
  fromStep: number,
  toStep: number,
  op: ReduceOp,
  pieceElems = DEFAULT_PIECE_ELEMS,
): Promise<void> {
  const p = link.size;
  const r = link.index;
  if (p === 1 || fromStep > toStep) return;
  const sends: Promise<void>[] = [];
  const [s0, e0] = bounds(mod(r - fromStep - 1, p));
  for (const [a, b] of pieces(s0, e0, pieceElems))
    sends.push(link.send(fromStep, bytesOf(buf.subarray(a, b))));
  try {
    for (let t = fromStep; t <= toStep; t++) {
      const [s, e] = bounds(mod(r - t - 2, p));
      for (const [a, b] of pieces(s, e, pieceElems)) {
        const incoming = floatsOf(await link.recv(t, (b - a) * 4));
        const dst = buf.subarray(a, b);
        if (t >= p - 1) dst.set(incoming);
        else if (op === "max") maxInto(dst, dst, incoming);
        else addInto(dst, dst, incoming);
        if (t < toStep) sends.push(link.send(t + 1, bytesOf(dst)));
      }
    }
  } finally {
    // Never leave a send rejection unobserved, and never return while the kernel may still read `buf`.
    await Promise.allSettled(sends);
  }
  await Promise.all(sends);
}

/** Piece buffers a reduce-scatter keeps in flight for the partial sums it forwards (p > 2). */
export const FORWARD_BUFFERS = 8;

/**
 * Reduce-scatter of `input` (p segments of `out.length`) around the ring, the schedule of `ringPass`
 * steps 0..p−2, writing this rank's reduced segment into `out` (returned). Unlike `ringPass` on a
 * full-size scratch buffer it keeps only what is in flight: the result segment, and for p > 2 a pool of
 * `FORWARD_BUFFERS` piece-sized buffers for the partial sums being forwarded, used round-robin (a buffer
 * is rewritten only after the send that read it is done). With 2 ranks the one received segment is this
 * rank's own, reduced straight into the result.
 */
export async function ringReduceScatter(
  link: RingLink,
  input: Float32Array,
  out: Float32Array,
  op: ReduceOp,
  pieceElems = DEFAULT_PIECE_ELEMS,
): Promise<Float32Array> {
  const p = link.size;
  const r = link.index;
  const len = out.length;
  if (p === 1) {
    out.set(input.subarray(0, len));
    return out;
  }
  const pool: Float32Array[] = [];
  const poolSends: Promise<unknown>[] = [];
  let turn = 0;
  const sends: Promise<void>[] = [];
  const segmentPieces = pieces(0, len, pieceElems);
  const s0 = mod(r - 1, p) * len;
  for (const [a, b] of segmentPieces) sends.push(link.send(0, bytesOf(input.subarray(s0 + a, s0 + b))));
  try {
    for (let t = 0; t <= p - 2; t++) {
      const seg = mod(r - t - 2, p) * len;
      const last = t === p - 2;
      for (const [a, b] of segmentPieces) {
        const incoming = floatsOf(await link.recv(t, (b - a) * 4));
        let d: Float32Array;
        let slot = -1;
        if (last) d = out.subarray(a, b);
        else {
          slot = turn++ % FORWARD_BUFFERS;
          if (pool[slot] === undefined) pool[slot] = scratchFloats(Math.min(pieceElems, len));
          else await poolSends[slot];
          d = pool[slot].subarray(0, b - a);
        }
        if (op === "max") maxInto(d, input.subarray(seg + a, seg + b), incoming);
        else addInto(d, input.subarray(seg + a, seg + b), incoming);
        if (!last) {
          const sent = link.send(t + 1, bytesOf(d));
          sends.push(sent);
          poolSends[slot] = sent.catch(() => {});
        }
      }
    }
  } finally {
    await Promise.allSettled(sends);
  }
  await Promise.all(sends);
  return out;
}

/** Pipelined chain broadcast from ring index `root` around the ring. */
export async function ringBroadcast(
  link: RingLink,
  buf: Float32Array,
  root: number,
  pieceElems = DEFAULT_PIECE_ELEMS,
): Promise<void> {
  const p = link.size;
  if (p === 1) return;
  const forward = mod(link.index + 1, p) !== root;
  const sends: Promise<void>[] = [];
  try {
    for (const [a, b] of pieces(0, buf.length, pieceElems)) {
      const dst = buf.subarray(a, b);
      if (link.index !== root) dst.set(floatsOf(await link.recv(0, (b - a) * 4)));
      if (link.index === root || forward) sends.push(link.send(0, bytesOf(dst)));
    }
  } finally {
    await Promise.allSettled(sends);
  }
  await Promise.all(sends);
}

/**
 * A barrier in p−1 steps (a token pass would take 2p−3): at step t every rank sends an empty frame to
 * the next and waits for the previous one's; a rank sends step t only after hearing step t−1, so the
 * frame it receives at step t vouches for t+1 ranks behind it, and after p−1 steps for all of them.
 * Frames carry the collective's op and sequence number, so a rank in another collective fails loudly.
 */
export async function ringBarrier(link: RingLink): Promise<void> {
  const empty = new Uint8Array(0);
  for (let t = 0; t < link.size - 1; t++) {
    const sent = link.send(t, empty);
    sent.catch(() => {}); // awaited below; must not surface as unhandled if the receive fails first
    await link.recv(t, 0);
    await sent;
  }
}
