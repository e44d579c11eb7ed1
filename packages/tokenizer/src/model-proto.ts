/**
 * Just enough of SentencePiece's `ModelProto` (sentencepiece_model.proto) to answer what the WASM
 * binding does not expose: the vocabulary (piece, score, type) and the special ids from TrainerSpec.
 * Parsing it ourselves also gives load-time validation: a file that is not a ModelProto fails here
 * with a reason, where the WASM processor would load it silently and encode everything to [].
 */

export type PieceType = "normal" | "unknown" | "control" | "user_defined" | "unused" | "byte";

const PIECE_TYPES: Record<number, PieceType> = {
  1: "normal",
  2: "unknown",
  3: "control",
  4: "user_defined",
  5: "unused",
  6: "byte",
};

export interface ModelPiece {
  piece: string;
  score: number;
  type: PieceType;
}

export interface ParsedModel {
  pieces: ModelPiece[];
  /** TrainerSpec.model_type: 1 unigram, 2 bpe, 3 word, 4 char. */
  modelType: number;
  byteFallback: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  /** TrainerSpec.treat_whitespace_as_suffix. */
  whitespaceAsSuffix: boolean;
  normalizer: {
    name: string;
    /** Bytes of NormalizerSpec.precompiled_charsmap; 0 for the identity normalizer. */
    charsmapBytes: number;
    addDummyPrefix: boolean;
    removeExtraWhitespaces: boolean;
    escapeWhitespaces: boolean;
  };
}

class ProtoReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  /** Varint as int32 (low 32 bits): enough for ids, enums and lengths; -1 round-trips. */
  varint(): number {
    let lo = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error(`varint runs past the end at byte ${this.pos}`);
      const b = this.buf[this.pos++];
      if (shift < 32) lo |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) return lo;
      if (shift > 70) throw new Error(`varint longer than 10 bytes at byte ${this.pos}`);
    }
  }

  length(): number {
    const n = this.varint() >>> 0;
    if (this.pos + n > this.end) throw new Error(`field of ${n} bytes runs past the end at byte ${this.pos}`);
    return n;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2: {
        const n = this.length();
        this.pos += n;
        return;
      }
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wireType} at byte ${this.pos}`);
    }
    if (this.pos > this.end) throw new Error("fixed-width field runs past the end");
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function parsePiece(r: ProtoReader, end: number): ModelPiece {
  const sub = new ProtoReader(r.buf, r.pos, end);
  let piece = "";
  let score = 0;
  let type: PieceType = "normal";
  while (sub.pos < end) {
    const key = sub.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 2) {
      const n = sub.length();
      piece = utf8.decode(sub.buf.subarray(sub.pos, sub.pos + n));
      sub.pos += n;
    } else if (field === 2 && wire === 5) {
      score = new DataView(sub.buf.buffer, sub.buf.byteOffset + sub.pos, 4).getFloat32(0, true);
      sub.pos += 4;
    } else if (field === 3 && wire === 0) {
      const t = PIECE_TYPES[sub.varint()];
      if (!t) throw new Error("unknown piece type");
      type = t;
    } else sub.skip(wire);
  }
  return { piece, score, type };
}

/** Throws a plain Error with the reason; the caller wraps it with the file name. */
export function parseModelProto(buf: Uint8Array): ParsedModel {
  const out: ParsedModel = {
    pieces: [],
    modelType: 1,
    byteFallback: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    whitespaceAsSuffix: false,
    // proto defaults: a NormalizerSpec that is absent behaves like these.
    normalizer: {
      name: "",
      charsmapBytes: 0,
      addDummyPrefix: true,
      removeExtraWhitespaces: true,
      escapeWhitespaces: true,
    },
  };
  const r = new ProtoReader(buf);
  while (r.pos < r.end) {
    const key = r.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 2) {
      const n = r.length();
      out.pieces.push(parsePiece(r, r.pos + n));
      r.pos += n;
    } else if (field === 2 && wire === 2) {
      const n = r.length();
      const end = r.pos + n;
      const t = new ProtoReader(buf, r.pos, end);
      while (t.pos < end) {
        const k = t.varint();
        const f = k >>> 3;
        const w = k & 7;
        if (w !== 0) {
          t.skip(w);
          continue;
        }
        const v = t.varint();
        if (f === 3) out.modelType = v;
        else if (f === 35) out.byteFallback = v !== 0;
        else if (f === 40) out.unkId = v;
        else if (f === 41) out.bosId = v;
        else if (f === 42) out.eosId = v;
        else if (f === 43) out.padId = v;
        else if (f === 24) out.whitespaceAsSuffix = v !== 0;
      }
      r.pos = end;
    } else if (field === 3 && wire === 2) {
      const n = r.length();
      const end = r.pos + n;
      const t = new ProtoReader(buf, r.pos, end);
      const spec = out.normalizer;
      while (t.pos < end) {
        const k = t.varint();
        const f = k >>> 3;
        const w = k & 7;
        if (w === 2 && (f === 1 || f === 2)) {
          const m = t.length();
          if (f === 1) spec.name = utf8.decode(buf.subarray(t.pos, t.pos + m));
          else spec.charsmapBytes = m;
          t.pos += m;
        } else if (w === 0 && f >= 3 && f <= 5) {
          const v = t.varint() !== 0;
          if (f === 3) spec.addDummyPrefix = v;
          else if (f === 4) spec.removeExtraWhitespaces = v;
          else spec.escapeWhitespaces = v;
        } else t.skip(w);
      }
      r.pos = end;
    } else r.skip(wire);
  }
  return out;
}
