/**
 * Forming fixed-length training sequences from tokenized documents.
 *
 * Labels follow Hugging Face: `labels` equals `inputIds` position by position (the model shifts
 * inside), with -100 where no loss is taken.
 */

import { mulberry32, permutation } from "@biomed-llama/seeded-random";

/**
 * Hugging Face's ignore_index, the label where no loss is taken. The value belongs to llama-model's loss;
 * a tokenizer must not depend on the model, so this is a copy, pinned to the model's by the trainer's
 * tests (packages/trainer/test/finetune-data.test.ts), where the two packages meet.
 */
export const IGNORE_INDEX = -100;

export interface TrainingSequence {
  inputIds: Int32Array;
  labels: Int32Array;
}

export interface SequenceSource {
  numSequences: number;
  get(i: number): TrainingSequence;
  /** Where the sequences come from (a file or dataset prefix), for errors. */
  name?: string;
  /**
   * The smallest and largest token id any sequence holds (`onProgress` in bytes for long scans), so a
   * trainer can check them against the model's vocabulary before any work.
   */
  tokenRange?(onProgress?: (done: number, total: number) => void): { min: number; max: number };
}

/** Anything with per-document sizes and random access, e.g. an IndexedDataset. */
export interface DocumentSource {
  readonly sizes: ArrayLike<number>;
  get(i: number): ArrayLike<number>;
  /** Optional fast path for the last token of document i (packing reads only that at setup). */
  lastToken?(i: number): number | undefined;
}

export interface PackOptions {
  seqLen: number;
  eosId: number;
  /** Shuffle the document order with this seed before concatenating (default: file order). */
  seed?: number;
}

export interface TruncateOptions {
  seqLen: number;
  /** Must be a real embedding row (LLaMA has no pad piece: 0 or the EOS id are the usual choices). */
  padId: number;
  /** When given, appended to each document that does not already end with it, before the cut. */
  eosId?: number;
  /** Shuffle the document order with this seed (default: file order). */
  seed?: number;
}

/**
 * Fisher–Yates over 0..n-1 driven by mulberry32(seed) (from @biomed-llama/seeded-random; j =
 * ⌊u·(i+1)⌋ with u a 32-bit uniform), or the identity when seed is undefined.
 */
export function documentOrder(n: number, seed?: number): Uint32Array {
  if (seed === undefined) {
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return order;
  }
  const rand = mulberry32(seed);
  return permutation(n, (k) => Math.floor(rand() * k));
}

function checkSeqLen(seqLen: number): void {
  if (!Number.isInteger(seqLen) || seqLen < 1)
    throw new RangeError(`seqLen must be a positive integer, got ${seqLen}`);
}

/**
 * Pack: documents (in file order, or shuffled by `seed`) are concatenated, each followed by EOS
 * unless it already ends with EOS (our shards store `[BOS] ids [EOS]`), and the stream is cut into
 * consecutive blocks of seqLen tokens. The last partial block is dropped. Labels = inputIds.
 */
export function packSequences(ds: DocumentSource, opts: PackOptions): SequenceSource {
  checkSeqLen(opts.seqLen);
  const { seqLen, eosId } = opts;
  const n = ds.sizes.length;
  const order = documentOrder(n, opts.seed);
  // start[k] = offset in the packed stream of the k-th document in `order`; Float64 holds > 2^32 tokens.
  const start = new Float64Array(n + 1);
  const addsEos = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const d = order[k];
    const size = ds.sizes[d];
    const last = size === 0 ? undefined : ds.lastToken ? ds.lastToken(d) : ds.get(d)[size - 1];
    addsEos[k] = last === eosId ? 0 : 1;
    start[k + 1] = start[k] + size + addsEos[k];
  }
  const total = start[n];
  const numSequences = Math.floor(total / seqLen);
  return {
    numSequences,
    get(i: number): TrainingSequence {
      if (!Number.isInteger(i) || i < 0 || i >= numSequences)
        throw new RangeError(`sequence ${i} outside [0, ${numSequences})`);
      const from = i * seqLen;
      // Last k with start[k] <= from.
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (start[mid] <= from) lo = mid;
        else hi = mid - 1;
      }
      const inputIds = new Int32Array(seqLen);
      let filled = 0;
      for (let k = lo; filled < seqLen; k++) {
        const doc = ds.get(order[k]);
        const withEos = doc.length + addsEos[k];
        let off = k === lo ? from - start[k] : 0;
        for (; off < withEos && filled < seqLen; off++)
          inputIds[filled++] = off < doc.length ? doc[off] : eosId;
      }
      return { inputIds, labels: inputIds.slice() };
    },
  };
}

/**
 * Truncate: one document per sequence (in file order, or shuffled by `seed`); EOS appended when
 * `eosId` is given and missing; cut to seqLen; shorter ones are right-padded with padId, and the
 * padding gets label -100. A document longer than seqLen loses its tail, EOS included.
 */
export function truncateSequences(ds: DocumentSource, opts: TruncateOptions): SequenceSource {
  checkSeqLen(opts.seqLen);
  const { seqLen, padId, eosId } = opts;
  if (!Number.isInteger(padId) || padId < 0)
    throw new RangeError(
      `padId must be a non-negative token id, got ${padId} (LLaMA's model defines none: pass 0 or the EOS id)`,
    );
  const order = documentOrder(ds.sizes.length, opts.seed);
  return {
    numSequences: order.length,
    get(i: number): TrainingSequence {
      if (!Number.isInteger(i) || i < 0 || i >= order.length)
        throw new RangeError(`sequence ${i} outside [0, ${order.length})`);
      const doc = ds.get(order[i]);
      const inputIds = new Int32Array(seqLen).fill(padId);
      const labels = new Int32Array(seqLen).fill(IGNORE_INDEX);
      const m = Math.min(doc.length, seqLen);
      for (let t = 0; t < m; t++) inputIds[t] = labels[t] = doc[t];
      if (eosId !== undefined && m < seqLen && (doc.length === 0 || doc[doc.length - 1] !== eosId))
        inputIds[m] = labels[m] = eosId;
      return { inputIds, labels };
    },
  };
}
