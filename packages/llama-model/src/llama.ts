import * as tf from "@tensorflow/tfjs";
import {
  BatchShapeError,
  prepareCausalBatch,
  toIdMatrix,
  weightedCrossEntropySum,
} from "./causal-lm-loss.js";
import { type LlamaConfig, parameterShapes, resolveConfig } from "./config.js";
import {
  decoderLayer,
  LAYER_PARAM_SUFFIXES,
  type LayerCache,
  recomputedDecoderLayer,
} from "./decoder-layer.js";
import { initialParameter } from "./hf-init.js";
import { layerContext } from "./layer-context.js";
import { linear } from "./mlp.js";
import { rmsNorm } from "./rmsnorm.js";
import { registerSegmentSum } from "./segment-sum.js";
import { checkParameterLimits } from "./tensor-limits.js";

export interface LlamaOptions {
  /** Seed for HF-style initialisation (normal(0, initializer_range), norms 1). Default 0. */
  seed?: number;
  /** Recompute each decoder layer's forward in the backward pass instead of keeping its activations. */
  recompute?: boolean;
  /** Flash-style attention over key blocks; never builds the T×T score matrix. */
  blockwiseAttention?: boolean;
  /** Key block size for blockwiseAttention (default 64). */
  attentionBlockSize?: number;
  /** Skip initialisation (weights are zeros until loadStateDict); used by checkpoint loading. */
  uninitialized?: boolean;
}

export interface LossOptions {
  /** "mean" over non-ignored tokens (HF's default) or "sum" (callers weight micro-batches by tokens). */
  reduction?: "mean" | "sum";
}

export class StateDictError extends Error {
  override name = "StateDictError";
}

/** Per-layer keys/values of everything seen so far; owned by whoever holds it (see `disposeCache`). */
export type KVCache = LayerCache[];

export function disposeCache(cache: KVCache | undefined): void {
  for (const c of cache ?? []) tf.dispose([c.k, c.v]);
}

let nextModelId = 0;

/**
 * What the loader and the model use of @biomed-llama/native-backend's NativeBackend (duck-typed, so this
 * package keeps it an optional dependency): native arrays, adopted as tensors without a copy, and
 * bfloat16 storage of float32 tensors.
 */
export interface NativeWeightHost {
  allocArray(dtype: "float32", size: number, zero?: boolean): Float32Array;
  allocBf16(size: number): Uint16Array;
  adoptTensorInfo(values: Float32Array, shape: number[], dtype: "float32"): tf.TensorInfo;
  adoptBf16TensorInfo(values: Uint16Array, shape: number[]): tf.TensorInfo;
  isBf16(dataId: object): boolean;
}

/** The current backend when it is the native one and can hold bfloat16 weights, else null. */
export function nativeWeightHost(): NativeWeightHost | null {
  if (tf.getBackend() !== "native") return null;
  const b = tf.backend() as unknown as Partial<NativeWeightHost>;
  return typeof b.adoptBf16TensorInfo === "function" && typeof b.isBf16 === "function"
    ? (b as NativeWeightHost)
    : null;
}

/** LlamaForCausalLM with parameters held as tf.Variables under their Hugging Face names. */
export class LlamaForCausalLM {
  readonly config: LlamaConfig;
  readonly options: LlamaOptions;
  private readonly params = new Map<string, tf.Variable>();
  private readonly layerParams: tf.Variable[][] = [];
  /** Parameters held as bfloat16 storage (see `fromTensors`). */
  private readonly bf16 = new Set<string>();

  /**
   * A model with HF's initialisation (or zeros with `uninitialized`). `tensors` is internal: use
   * `LlamaForCausalLM.fromTensors`.
   */
  constructor(config: LlamaConfig, opts: LlamaOptions = {}, tensors?: ReadonlyMap<string, tf.Tensor>) {
    this.config = resolveConfig(config as Record<string, unknown>);
    this.options = opts;
    // tfjs picks cpu by default in Node without setBackend(); its embedding gradient must be ours too.
    registerSegmentSum("cpu");
    const id = nextModelId++;
    const seed = opts.seed ?? 0;
    const shapes = parameterShapes(this.config);
    checkParameterLimits(shapes, "model");
    if (tensors) {
      // Check everything before taking anything, so a failure leaves the caller's tensors alone.
      for (const [name, shape] of shapes) {
        const t = tensors.get(name);
        if (!t) throw new StateDictError(`tensors: missing tensor "${name}"`);
        if (t.dtype !== "float32" || t.shape.join(",") !== shape.join(","))
          throw new StateDictError(
            `tensors: "${name}" is ${t.dtype} [${t.shape}], expected float32 [${shape}]`,
          );
      }
      for (const name of tensors.keys())
        if (!shapes.has(name)) throw new StateDictError(`tensors: unexpected tensor "${name}"`);
    }
    const host = tensors ? nativeWeightHost() : null;
    for (const [name, shape] of shapes) {
      const init = tensors
        ? (tensors.get(name) as tf.Tensor)
        : opts.uninitialized
          ? tf.zeros(shape)
          : tf.tensor(initialParameter(this.config, name, shape, seed), shape, "float32");
      // The variable shares the tensor's data (no copy); disposing the tensor leaves it to the variable.
      this.params.set(name, tf.variable(init, true, `llama${id}/${name}`));
      if (host?.isBf16(init.dataId)) this.bf16.add(name);
      init.dispose();
    }
    for (let i = 0; i < this.config.num_hidden_layers; i++)
      this.layerParams.push(LAYER_PARAM_SUFFIXES.map((s) => this.param(`model.layers.${i}.${s}`)));
  }

  /**
   * A model over already loaded parameter tensors (every HF name of `config`, float32, the config's
   * shapes), without allocating parameters of its own: each tensor's data becomes its variable's, and
   * the model owns the tensors from then on (the map's tensors are disposed as handles; their data lives
   * on in the variables). A tensor the native backend holds as bfloat16 stays so (`bf16Parameters`).
   * On a validation error nothing is taken and the caller still owns the tensors.
   */
  static fromTensors(
    config: LlamaConfig,
    tensors: ReadonlyMap<string, tf.Tensor>,
    opts: Omit<LlamaOptions, "seed" | "uninitialized"> = {},
  ): LlamaForCausalLM {
    return new LlamaForCausalLM(config, opts, tensors);
  }

  /**
   * Names of the parameters held as bfloat16 storage (2 bytes each, widened inside the matmul and the
   * embedding lookup; the values are exactly those bfloat16 numbers). Empty for float32 models.
   */
  bf16Parameters(): string[] {
    return [...this.bf16];
  }

  /** Bytes the parameters occupy: 4 per float32 value, 2 per bfloat16-held one. */
  parameterBytes(): number {
    let n = 0;
    for (const [name, v] of this.params) n += v.size * (this.bf16.has(name) ? 2 : 4);
    return n;
  }

  private param(name: string): tf.Variable {
    const p = this.params.get(name);
    if (!p) throw new StateDictError(`no parameter "${name}"`);
    return p;
  }

  /** Parameters keyed by HF name, in HF orientation ([out, in] for Linear); lm_head absent when tied. */
  namedParameters(): Map<string, tf.Variable> {
    return new Map(this.params);
  }

  private lmHeadWeight(): tf.Tensor {
    return this.config.tie_word_embeddings
      ? this.param("model.embed_tokens.weight")
      : this.param("lm_head.weight");
  }

  /** Final hidden states [B, T, H] (after model.norm). With `cache`, positions continue after it. */
  private hiddenStates(ids: tf.Tensor2D, cache?: { past?: KVCache; next: KVCache }): tf.Tensor3D {
    return tf.tidy(() => {
      const [, T] = ids.shape;
      const past = cache?.past?.[0]?.k.shape[2] ?? 0;
      const ctx = layerContext(this.config, this.options, past, T);
      let h: tf.Tensor = tf.gather(this.param("model.embed_tokens.weight"), ids);
      for (let i = 0; i < this.layerParams.length; i++) {
        const w = this.layerParams[i];
        if (cache) {
          const r = decoderLayer(h, w, ctx, { past: cache.past?.[i] });
          h = r.out;
          cache.next.push(r.cache as LayerCache);
        } else if (this.options.recompute) {
          h = recomputedDecoderLayer(h, w, ctx);
        } else {
          h = decoderLayer(h, w, ctx).out;
        }
      }
      return rmsNorm(h, this.param("model.norm.weight"), this.config.rms_norm_eps) as tf.Tensor3D;
    });
  }

  private checkIds(ids: tf.Tensor2D): void {
    if (ids.rank !== 2) throw new BatchShapeError(`inputIds must be [batch, seq], got shape [${ids.shape}]`);
  }

  /** Logits [B, T, vocab]. */
  logits(inputIds: tf.Tensor2D | ArrayLike<number>[]): tf.Tensor3D {
    return tf.tidy(() => {
      const ids = inputIds instanceof tf.Tensor ? inputIds : toIdMatrix(inputIds, "inputIds");
      this.checkIds(ids);
      return linear(this.hiddenStates(ids), this.lmHeadWeight()) as tf.Tensor3D;
    });
  }

  /** log_softmax of the logits, [B, T, vocab]. */
  logProbs(inputIds: tf.Tensor2D | ArrayLike<number>[]): tf.Tensor3D {
    return tf.tidy(() => tf.logSoftmax(this.logits(inputIds), -1) as tf.Tensor3D);
  }

  /**
   * log_softmax of the logits at flat positions `b·T + t` only, [positions.length, vocab]. Scoring a
   * few continuation tokens after a long prompt then never builds the [B, T, vocab] logits, which
   * dominate time and memory for small models with LLaMA's 32k vocabulary.
   */
  logProbsAt(inputIds: tf.Tensor2D | ArrayLike<number>[], positions: ArrayLike<number>): tf.Tensor2D {
    return tf.tidy(() => {
      const ids = inputIds instanceof tf.Tensor ? inputIds : toIdMatrix(inputIds, "inputIds");
      this.checkIds(ids);
      const [B, T] = ids.shape;
      for (const p of Array.from(positions))
        if (!Number.isInteger(p) || p < 0 || p >= B * T)
          throw new BatchShapeError(`positions: ${p} is outside the ${B}×${T} batch`);
      const h = this.hiddenStates(ids);
      const H = h.shape[2];
      const rows = tf.gather(tf.reshape(h, [B * T, H]), tf.tensor1d(Array.from(positions), "int32"));
      return tf.logSoftmax(linear(rows, this.lmHeadWeight()), -1) as tf.Tensor2D;
    });
  }

  /**
   * out[b][t] = log p(ids[b][t+1] | ids[b][0..t]) for t < T−1: what log-likelihood scoring needs,
   * without handing a [B, T, vocab] tensor to the caller.
   */
  async sequenceLogProbs(inputIds: ArrayLike<number>[]): Promise<Float32Array[]> {
    const T = inputIds[0]?.length ?? 0;
    const flat = tf.tidy(() => {
      const lp = tf.reshape(this.logProbs(inputIds), [inputIds.length * T, this.config.vocab_size]);
      const idx: number[] = [];
      inputIds.forEach((row, b) => {
        for (let t = 0; t + 1 < T; t++) idx.push((b * T + t) * this.config.vocab_size + row[t + 1]);
      });
      return tf.gather(tf.reshape(lp, [-1]), tf.tensor1d(idx, "int32"));
    });
    const data = (await flat.data()) as Float32Array;
    flat.dispose();
    return inputIds.map((_, b) => data.slice(b * (T - 1), (b + 1) * (T - 1)));
  }

  /** Scalar loss tensor; logits are only built for the T−1 positions that predict something. */
  private lossTensor(
    ids: tf.Tensor2D,
    targets: Int32Array,
    weights: Float32Array,
    tokens: number,
    reduction: string,
  ) {
    const [B, T] = ids.shape;
    const h = this.hiddenStates(ids);
    const shifted = tf.reshape(tf.slice(h, [0, 0, 0], [B, T - 1, -1]), [
      B * (T - 1),
      this.config.hidden_size,
    ]);
    const logits = linear(shifted, this.lmHeadWeight()) as tf.Tensor2D;
    const sum = weightedCrossEntropySum(logits, targets, weights);
    return reduction === "sum" ? sum : tf.div(sum, Math.max(tokens, 1));
  }

  private prepare(inputIds: ArrayLike<number>[], labels: ArrayLike<number>[]) {
    return prepareCausalBatch(inputIds, labels, this.config.vocab_size);
  }

  /** Forward-only causal-LM loss (mean over tokens whose label ≠ -100, or their sum). */
  async loss(
    inputIds: ArrayLike<number>[],
    labels: ArrayLike<number>[],
    opts: LossOptions = {},
  ): Promise<{ loss: number; tokens: number }> {
    const { ids, targets, weights, tokens } = this.prepare(inputIds, labels);
    try {
      const t = tf.tidy(() => this.lossTensor(ids, targets, weights, tokens, opts.reduction ?? "mean"));
      const loss = (await t.data())[0];
      t.dispose();
      return { loss, tokens };
    } finally {
      ids.dispose();
    }
  }

  /** Loss and its gradient for every parameter (keyed by HF name). The caller disposes the grads. */
  async lossAndGrads(
    inputIds: ArrayLike<number>[],
    labels: ArrayLike<number>[],
    opts: LossOptions = {},
  ): Promise<{ loss: number; tokens: number; grads: Map<string, tf.Tensor> }> {
    const { ids, targets, weights, tokens } = this.prepare(inputIds, labels);
    try {
      const vars = [...this.params.values()];
      const { value, grads } = tf.variableGrads(
        () => this.lossTensor(ids, targets, weights, tokens, opts.reduction ?? "mean") as tf.Scalar,
        vars,
      );
      const loss = (await value.data())[0];
      value.dispose();
      const out = new Map<string, tf.Tensor>();
      for (const [name, v] of this.params) out.set(name, grads[v.name]);
      return { loss, tokens, grads: out };
    } finally {
      ids.dispose();
    }
  }

  /**
   * Logits of the last position [B, vocab] for `inputIds` following the cached positions, and the
   * extended cache. The old cache is left alone; dispose it with `disposeCache` when done.
   */
  forwardWithCache(inputIds: tf.Tensor2D, past?: KVCache): { logits: tf.Tensor2D; cache: KVCache } {
    const next: KVCache = [];
    const logits = tf.tidy(() => {
      const h = this.hiddenStates(inputIds, { past, next });
      const [B, T, H] = h.shape;
      const last = tf.reshape(tf.slice(h, [0, T - 1, 0], [B, 1, H]), [B, H]);
      return linear(last, this.lmHeadWeight()) as tf.Tensor2D;
    });
    return { logits, cache: next };
  }

  /**
   * Copies of all parameters as float32 arrays keyed by HF name (asynchronous: a GPU backend can only
   * read its memory that way).
   */
  async stateDict(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    // data() on the cpu backend returns the variable's own storage: copy, so callers may mutate.
    for (const [name, v] of this.params) out.set(name, ((await v.data()) as Float32Array).slice());
    return out;
  }

  /**
   * Overwrite parameters from float32 arrays. `strict` (default) requires every parameter and no
   * unknown names; sizes must always match.
   */
  loadStateDict(state: Map<string, Float32Array>, opts: { strict?: boolean; source?: string } = {}): void {
    const src = opts.source ?? "state dict";
    if (opts.strict ?? true) {
      for (const name of this.params.keys())
        if (!state.has(name)) throw new StateDictError(`${src}: missing tensor "${name}"`);
      for (const name of state.keys())
        if (!this.params.has(name)) throw new StateDictError(`${src}: unexpected tensor "${name}"`);
    }
    for (const [name, data] of state) {
      const v = this.params.get(name);
      if (!v) continue;
      this.setParameter(name, data, src);
    }
  }

  /** Overwrite one parameter (e.g. after an optimizer step on its float32 copy). */
  setParameter(name: string, data: Float32Array, source = "state dict"): void {
    const v = this.params.get(name);
    if (!v) throw new StateDictError(`${source}: unexpected tensor "${name}"`);
    if (data.length !== v.size)
      throw new StateDictError(
        `${source}: tensor "${name}" has ${data.length} values, expected shape [${v.shape}]`,
      );
    const t = tf.tensor(data, v.shape, "float32");
    v.assign(t);
    t.dispose();
    this.bf16.delete(name); // float32 from now on
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
    this.bf16.clear();
  }
}
