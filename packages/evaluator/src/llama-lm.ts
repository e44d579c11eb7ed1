import { createHash } from "node:crypto";
import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  type BackendName,
  describeBackend,
  firstNonFiniteParameter,
  type LlamaConfig,
  type LlamaForCausalLM,
  loadHFCheckpoint,
  type NonFiniteParameter,
  readHFConfig,
  releaseBackendMemory,
  setBackend,
} from "@biomed-llama/llama-model";
import { LlamaTokenizer } from "@biomed-llama/tokenizer";
import * as tf from "@tensorflow/tfjs";
import { ModelLoadError } from "./errors.js";
import type { LM, QueryScore, ScoreRow } from "./lm.js";

/** What the adapter needs from a tokenizer (LlamaTokenizer has it). */
export interface TokenizerLike {
  encode(text: string): number[];
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
}

export interface LlamaLMOptions {
  /** Default: the model's max_position_embeddings (lm-eval's HFLM does the same). */
  maxLength?: number;
  /** Cache identity; default: derived from the checkpoint files. */
  id?: string;
  /** Token id used to right-pad rows of a batch (never attended to by earlier positions). */
  padId?: number;
}

/**
 * The engine's `LM` over a LLaMA checkpoint and its SentencePiece tokenizer. A batch is
 * right-padded (causal attention makes padding invisible to the positions we read); only the
 * requested positions' log-probs and argmaxes leave the backend.
 */
export class LlamaLM implements LM {
  readonly id: string;
  readonly maxLength: number;
  readonly bosId: number;
  readonly eosId: number;
  private readonly padId: number;
  private lastLength = -1;

  constructor(
    readonly model: LlamaForCausalLM,
    readonly tokenizer: TokenizerLike,
    opts: LlamaLMOptions = {},
  ) {
    const cfg = model.config;
    this.maxLength = LlamaLM.check(cfg, tokenizer, opts);
    this.bosId = tokenizer.bosId;
    this.eosId = tokenizer.eosId;
    this.padId = opts.padId ?? 0;
    this.id = opts.id ?? `llama:${JSON.stringify(cfg)}`;
  }

  /** Tokenizer and options against a model config (ModelLoadError if they do not fit); the max length. */
  static check(
    cfg: LlamaConfig,
    tokenizer: TokenizerLike,
    opts: LlamaLMOptions = {},
    configPath = "config.json",
  ): number {
    if (tokenizer.vocabSize > cfg.vocab_size)
      throw new ModelLoadError(
        `tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${cfg.vocab_size}: they do not belong together`,
      );
    const maxLength = opts.maxLength ?? cfg.max_position_embeddings;
    if (!Number.isInteger(maxLength) || maxLength < 1)
      throw new ModelLoadError(`max length (--max-length) must be a positive integer, got ${maxLength}`);
    if (maxLength > cfg.max_position_embeddings)
      throw new ModelLoadError(
        `max length (--max-length) ${maxLength} exceeds max_position_embeddings ${cfg.max_position_embeddings} of ${configPath}`,
      );
    return maxLength;
  }

  encode(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  async scoreBatch(rows: ScoreRow[]): Promise<QueryScore[][]> {
    const T = Math.max(...rows.map((r) => r.input.length));
    const V = this.model.config.vocab_size;
    const ids = rows.map((r) => {
      const row = r.input.slice();
      while (row.length < T) row.push(this.padId);
      return row;
    });
    this.trimBackendCache(T);
    // Flat positions (b*T + t) whose distributions are needed, and the token read at each.
    const pos: number[] = [];
    const tok: number[] = [];
    for (const [b, r] of rows.entries())
      for (const q of r.queries)
        q.tokens.forEach((t, k) => {
          pos.push(b * T + q.start + k);
          tok.push(t);
        });
    const [lpT, amT] = tf.tidy(() => {
      const picked = this.positionLogProbs(ids, pos);
      const gathered = tf.gather(
        tf.reshape(picked, [-1]),
        tf.tensor1d(
          tok.map((t, i) => i * V + t),
          "int32",
        ),
      );
      return [gathered, tf.argMax(picked, 1)];
    });
    const [lp, am] = await Promise.all([lpT.data(), amT.data()]);
    lpT.dispose();
    amT.dispose();
    let n = 0;
    return rows.map((r) =>
      r.queries.map((q) => {
        const logprobs: number[] = [];
        let greedy = true;
        for (const t of q.tokens) {
          logprobs.push(lp[n]);
          if (am[n] !== t) greedy = false;
          n++;
        }
        return { logprobs, greedy };
      }),
    );
  }

  /**
   * The native backend keeps the memory of disposed tensors for reuse by exact size, which pays off
   * when shapes repeat (training steps, rolling windows of max length) but here every new row length
   * leaves a whole forward's temporaries behind (~230 MB per length for a 1.1B model at 500 tokens, up
   * to the cache's 2 GB cap). So before a forward of a new length, what the previous one kept is
   * handed back; batches of one length in a row (perplexity windows) still reuse it.
   */
  private trimBackendCache(T: number): void {
    if (T !== this.lastLength) releaseBackendMemory();
    this.lastLength = T;
  }

  /** log_softmax rows [N, vocab] at flat positions `pos` (b*T + t): only the scored positions are projected. */
  private positionLogProbs(ids: number[][], pos: number[]): tf.Tensor2D {
    return this.model.logProbsAt(ids, pos);
  }

  dispose(): void {
    this.model.dispose();
  }
}

export interface LoadLlamaLMOptions extends LlamaLMOptions {
  /** SentencePiece model; default `<dir>/tokenizer.model` if present, else LLaMA's (shipped with the tokenizer package). */
  tokenizer?: string;
  /** tfjs backend (see BACKEND_NAMES); default leaves the current one. */
  backend?: BackendName;
  /**
   * How BF16 checkpoint weights are held (llama-model's `loadHFCheckpoint` option). Default "bf16":
   * evaluation only reads the weights, so on the native backend they stay bfloat16 (2 bytes/parameter,
   * widened inside each matmul; scores equal the float32 model's to float32 rounding). "f32" widens
   * them at load. Other backends and F32 checkpoints load float32 either way.
   */
  weights?: "f32" | "bf16";
  /** Checkpoint bytes read so far and in all, from 0 at the start of the load to the end. */
  onLoadProgress?: (bytesRead: number, totalBytes: number) => void;
}

/** What `loadLlamaLM` adds to the `LM`: where and how the model lives. */
export interface LoadedLlamaLMInfo {
  backend: string;
  /** The backend as run logs name it, e.g. "webgpu (nvidia ampere (…), binding limit 2048 MiB)". */
  backendDescription: string;
  tokenizerPath: string | null;
  /** "bf16" when any weight is held as bfloat16, else "f32". */
  weights: "f32" | "bf16";
  /** Bytes the parameters occupy (2 per bfloat16-held value, 4 per float32 one). */
  parameterBytes: number;
  /** Seconds spent reading the checkpoint. */
  loadSeconds: number;
  /** The first parameter holding NaN or ±Infinity (every score is then meaningless), or null. */
  nonFinite: NonFiniteParameter | null;
}

/**
 * Everything about a checkpoint but its weights: the backend is set, the config read and the
 * tokenizer loaded and checked against it, so that bad input fails (and requests can be measured,
 * see `checkRequestLengths`) before gigabytes of weights are read. `load()` reads them.
 */
export interface LlamaLMPlan {
  readonly dir: string;
  readonly config: LlamaConfig;
  readonly backend: string;
  /** The backend as run logs name it (`describeBackend`). */
  readonly backendDescription: string;
  readonly tokenizerPath: string | null;
  readonly maxLength: number;
  readonly bosId: number;
  readonly eosId: number;
  encode(text: string): number[];
  load(): Promise<LlamaLM & LoadedLlamaLMInfo>;
}

/** The checks and the cheap part of `loadLlamaLM`; see `LlamaLMPlan`. */
export async function prepareLlamaLM(dir: string, opts: LoadLlamaLMOptions = {}): Promise<LlamaLMPlan> {
  if (!existsSync(join(dir, "config.json")))
    throw new ModelLoadError(
      `${join(dir, "config.json")}: not found (is --model an HF checkpoint directory?)`,
    );
  const config = readHFConfig(dir);
  const backend = opts.backend ? await setBackend(opts.backend) : tf.getBackend();
  const backendDescription = await describeBackend();
  const tokPath =
    opts.tokenizer ?? (existsSync(join(dir, "tokenizer.model")) ? join(dir, "tokenizer.model") : null);
  const tokenizer = tokPath ? await LlamaTokenizer.load(tokPath) : await LlamaTokenizer.load();
  const maxLength = LlamaLM.check(config, tokenizer, opts, join(dir, "config.json"));
  return {
    dir,
    config,
    backend,
    backendDescription,
    tokenizerPath: tokPath,
    maxLength,
    bosId: tokenizer.bosId,
    eosId: tokenizer.eosId,
    encode: (text) => tokenizer.encode(text),
    load: async () => {
      const start = Date.now();
      const model = await loadHFCheckpoint(dir, {
        weights: opts.weights ?? "bf16",
        onProgress: opts.onLoadProgress,
      });
      const loadSeconds = (Date.now() - start) / 1000;
      let lm: LlamaLM;
      let nonFinite: NonFiniteParameter | null;
      try {
        lm = new LlamaLM(model, tokenizer, { ...opts, id: opts.id ?? checkpointId(dir, tokPath) });
        nonFinite = await firstNonFiniteParameter(model);
      } catch (e) {
        model.dispose();
        throw e;
      }
      return Object.assign(lm, {
        backend,
        backendDescription,
        tokenizerPath: tokPath,
        weights: model.bf16Parameters().length > 0 ? ("bf16" as const) : ("f32" as const),
        parameterBytes: model.parameterBytes(),
        loadSeconds,
        nonFinite,
      });
    },
  };
}

/** Load an HF checkpoint directory (config.json + safetensors) and its tokenizer as an `LM`. */
export async function loadLlamaLM(
  dir: string,
  opts: LoadLlamaLMOptions = {},
): Promise<LlamaLM & LoadedLlamaLMInfo> {
  return (await prepareLlamaLM(dir, opts)).load();
}

/** Identity of a checkpoint for the request cache: its path and every file's size and mtime. */
function checkpointId(dir: string, tokPath: string | null): string {
  const h = createHash("sha256").update(realpathSync(dir));
  for (const f of readdirSync(dir).sort()) {
    const s = statSync(join(dir, f));
    if (s.isFile()) h.update(`${f}:${s.size}:${s.mtimeMs}`);
  }
  h.update(`tokenizer:${tokPath ?? "default"}`);
  return `llama:${h.digest("hex").slice(0, 32)}`;
}
