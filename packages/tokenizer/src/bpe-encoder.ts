import type { ParsedModel } from "./model-proto.js";

/**
 * SentencePiece's BPE encoder (bpe_model.cc, `Model::SampleEncode` without sampling) in plain
 * TypeScript, for models with the identity normalizer such as LLaMA's. It exists for speed: the
 * WASM build pays an embind call per output id and has no cache, while here text is cut into
 * chunks ("▁"-run + following non-"▁" characters) that no vocabulary piece can span, and each
 * chunk's ids are cached — PubMed text repeats its words constantly.
 *
 * Exactness: the merge loop is the C++ one (highest score first, ties to the leftmost pair, stale
 * pairs skipped by size), unused pieces are re-segmented through the reverse merges, unknown
 * symbols fall back to <0xXX> byte pieces (or merge into one unk without byte fallback). Merges
 * in different chunks never interact, so per-chunk results equal whole-text results. The tests run
 * the C++ golden fixtures through both engines, and LlamaTokenizer.load cross-checks this encoder
 * against WASM before using it.
 */

interface Pair {
  left: number;
  right: number;
  score: number;
  size: number;
}

// Max-heap on (score, then smaller left index), SentencePiece's SymbolPairComparator.
function before(a: Pair, b: Pair): boolean {
  return a.score > b.score || (a.score === b.score && a.left < b.left);
}

class PairHeap {
  private readonly items: Pair[] = [];
  get size(): number {
    return this.items.length;
  }
  push(p: Pair): void {
    const h = this.items;
    h.push(p);
    let i = h.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!before(h[i], h[up])) break;
      [h[i], h[up]] = [h[up], h[i]];
      i = up;
    }
  }
  pop(): Pair {
    const h = this.items;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

const MAX_CACHED_CHUNK = 48;
const MAX_CACHE_ENTRIES = 1 << 18;
const utf8 = new TextEncoder();

export class BpeEncoder {
  private readonly normal = new Map<string, number>();
  private readonly reserved = new Map<string, number>();
  private readonly scores: Float64Array;
  private readonly unused: Uint8Array;
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly cache = new Map<string, number[]>();
  private readonly unkId: number;
  private readonly byteFallback: boolean;
  private readonly addDummyPrefix: boolean;

  private constructor(model: ParsedModel) {
    this.unkId = model.unkId;
    this.byteFallback = model.byteFallback;
    this.addDummyPrefix = model.normalizer.addDummyPrefix;
    this.scores = new Float64Array(model.pieces.length);
    this.unused = new Uint8Array(model.pieces.length);
    model.pieces.forEach((p, id) => {
      this.scores[id] = p.score;
      // As ModelInterface::InitializePieces: normal, user-defined and unused pieces can be merged into.
      if (p.type === "normal" || p.type === "user_defined" || p.type === "unused") {
        if (!this.normal.has(p.piece)) this.normal.set(p.piece, id);
      } else if (!this.reserved.has(p.piece)) this.reserved.set(p.piece, id);
      if (p.type === "unused") this.unused[id] = 1;
      if (p.type === "byte") {
        const m = /^<0x([0-9A-F]{2})>$/.exec(p.piece);
        if (m) this.byteIds[Number.parseInt(m[1], 16)] = id;
      }
    });
  }

  /** An encoder for `model`, or the reason this model needs the WASM path. */
  static fromModel(model: ParsedModel): BpeEncoder | string {
    if (model.modelType !== 2) return `model type ${model.modelType} is not BPE`;
    const n = model.normalizer;
    if (n.charsmapBytes > 0) return `normalizer "${n.name}" has a character map`;
    if (n.removeExtraWhitespaces) return "normalizer removes extra whitespace";
    if (!n.escapeWhitespaces) return "normalizer does not escape whitespace";
    if (model.whitespaceAsSuffix) return "whitespace is treated as a suffix";
    for (const p of model.pieces) {
      // User-defined symbols are matched greedily before BPE and frozen: not modelled here.
      if (p.type === "user_defined") return `user-defined piece ${JSON.stringify(p.piece)}`;
      // Chunking relies on no piece having "▁" after another character.
      if ((p.type === "normal" || p.type === "unused") && !/^▁*[^▁]*$/u.test(p.piece))
        return `piece ${JSON.stringify(p.piece)} spans a word boundary`;
    }
    const enc = new BpeEncoder(model);
    if (model.byteFallback && enc.byteIds.includes(-1)) return "byte fallback without all 256 byte pieces";
    return enc;
  }

  /** Ids of `text`, which must be well-formed UTF-16 (LlamaTokenizer replaces lone surrogates first). */
  encode(text: string): number[] {
    if (text.length === 0) return [];
    let norm = text.replaceAll(" ", "▁");
    if (this.addDummyPrefix) norm = `▁${norm}`;
    const out: number[] = [];
    for (const m of norm.matchAll(/▁+[^▁]*|[^▁]+/gu)) {
      const chunk = m[0];
      let ids = chunk.length <= MAX_CACHED_CHUNK ? this.cache.get(chunk) : undefined;
      if (!ids) {
        ids = this.encodeChunk(chunk);
        if (chunk.length <= MAX_CACHED_CHUNK) {
          if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
          this.cache.set(chunk, ids);
        }
      }
      let k = 0;
      // Without byte fallback, consecutive unknowns become one unk, also across chunks.
      if (!this.byteFallback && ids[0] === this.unkId && out[out.length - 1] === this.unkId) k = 1;
      for (; k < ids.length; k++) out.push(ids[k]);
    }
    return out;
  }

  private pieceToId(w: string): number {
    return this.reserved.get(w) ?? this.normal.get(w) ?? this.unkId;
  }

  private encodeChunk(chunk: string): number[] {
    const piece = Array.from(chunk);
    const n = piece.length;
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const agenda = new PairHeap();
    let revMerge: Map<string, [string, string]> | undefined;
    const maybeAdd = (left: number, right: number) => {
      if (left === -1 || right === -1) return;
      const s = piece[left] + piece[right];
      const id = this.normal.get(s);
      if (id === undefined) return;
      agenda.push({ left, right, score: this.scores[id], size: s.length });
      if (this.unused[id]) {
        revMerge ??= new Map();
        revMerge.set(s, [piece[left], piece[right]]);
      }
    };
    for (let i = 1; i < n; i++) maybeAdd(i - 1, i);
    while (agenda.size > 0) {
      const top = agenda.pop();
      const l = piece[top.left];
      const r = piece[top.right];
      if (l === "" || r === "" || l.length + r.length !== top.size) continue;
      piece[top.left] = l + r;
      next[top.left] = next[top.right];
      if (next[top.right] >= 0) prev[next[top.right]] = top.left;
      piece[top.right] = "";
      maybeAdd(prev[top.left], top.left);
      maybeAdd(top.left, next[top.left]);
    }
    const out: number[] = [];
    const emit = (w: string) => {
      const id = this.pieceToId(w);
      const rm = this.unused[id] ? revMerge?.get(w) : undefined;
      if (rm) {
        emit(rm[0]);
        emit(rm[1]);
        return;
      }
      if (id === this.unkId) {
        if (this.byteFallback) {
          for (const b of utf8.encode(w)) out.push(this.byteIds[b]);
          return;
        }
        if (out[out.length - 1] === this.unkId) return;
      }
      out.push(id);
    };
    for (let i = 0; i !== -1; i = next[i]) emit(piece[i]);
    return out;
  }
}
