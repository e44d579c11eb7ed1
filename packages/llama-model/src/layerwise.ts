import * as tf from "@tensorflow/tfjs";
import { prepareCausalBatch, weightedCrossEntropySum } from "./causal-lm-loss.js";
import { type LlamaConfig, parameterShapes, resolveConfig } from "./config.js";
import { decoderLayer, LAYER_PARAM_SUFFIXES, type LayerContext } from "./decoder-layer.js";
import { layerContext } from "./layer-context.js";
import { linear } from "./mlp.js";
import { rmsNorm } from "./rmsnorm.js";

/**
 * A unit-by-unit forward and backward pass over parameters the caller hands in one unit at a time.
 *
 * The model is cut into units the way FSDP wraps a LLaMA: `embed` (model.embed_tokens), `layers.{i}`
 * (one decoder layer) and `head` (model.norm + lm_head). The pass asks for a unit's parameters right
 * before it needs them (`acquire`), hands them back right after (`release`), and passes each unit's
 * gradients out as soon as backward has produced them (`gradients`). All three may be asynchronous,
 * which tfjs autodiff (one synchronous tape over the whole model) cannot allow: so the pass keeps only
 * each layer's input, and its backward re-runs one layer's forward under a tape (activation
 * checkpointing), the way `recompute` does inside `LlamaForCausalLM`.
 *
 * Nothing here knows why parameters come and go: a sharding package gathers them from shards, an
 * offloading one from disk, a test from a model's own variables.
 */
export interface UnitHooks {
  /** The unit's parameters keyed by HF name (full shapes). May be asynchronous. */
  acquire(unit: string): Promise<Map<string, tf.Tensor>> | Map<string, tf.Tensor>;
  /** The pass is done with what `acquire(unit)` returned; the hook may dispose it. */
  release(unit: string, params: Map<string, tf.Tensor>): void;
  /**
   * The unit's gradients (keyed by HF name), in backward order: head, layers.{L-1} … layers.0, embed.
   * Each unit is reported once per call. The hook owns and disposes the tensors.
   */
  gradients?(unit: string, grads: Map<string, tf.Tensor>): Promise<void> | void;
}

export interface LlamaUnit {
  name: string;
  /** HF parameter names of the unit, in a fixed order. */
  params: string[];
}

/** The units of a LLaMA in forward order, with their parameter names (lm_head absent when tied). */
export function llamaUnits(config: LlamaConfig): LlamaUnit[] {
  const cfg = resolveConfig(config as unknown as Record<string, unknown>);
  const units: LlamaUnit[] = [{ name: "embed", params: ["model.embed_tokens.weight"] }];
  for (let i = 0; i < cfg.num_hidden_layers; i++)
    units.push({ name: `layers.${i}`, params: LAYER_PARAM_SUFFIXES.map((s) => `model.layers.${i}.${s}`) });
  units.push({
    name: "head",
    params: cfg.tie_word_embeddings ? ["model.norm.weight"] : ["model.norm.weight", "lm_head.weight"],
  });
  return units;
}

export interface LayerwiseOptions {
  /** "mean" over label tokens (HF's default) or "sum". */
  reduction?: "mean" | "sum";
  blockwiseAttention?: boolean;
  attentionBlockSize?: number;
}

function take(params: Map<string, tf.Tensor>, unit: string, name: string): tf.Tensor {
  const t = params.get(name);
  if (!t) throw new Error(`acquire("${unit}") returned no tensor "${name}"`);
  return t;
}

const layerWeights = (params: Map<string, tf.Tensor>, unit: string, i: number) =>
  LAYER_PARAM_SUFFIXES.map((s) => take(params, unit, `model.layers.${i}.${s}`));

/**
 * Causal-LM loss (as `LlamaForCausalLM.loss`) computed unit by unit; with `withGrads` the backward pass
 * too, reporting every unit's gradients through `hooks.gradients`. Returns the loss and the label-token
 * count. Equal to `lossAndGrads` of a model holding the same parameters, up to float rounding.
 */
async function layerwisePass(
  configIn: LlamaConfig,
  inputIds: ArrayLike<number>[],
  labels: ArrayLike<number>[],
  hooks: UnitHooks,
  opts: LayerwiseOptions,
  withGrads: boolean,
): Promise<{ loss: number; tokens: number }> {
  const config = resolveConfig(configIn as unknown as Record<string, unknown>);
  const L = config.num_hidden_layers;
  const H = config.hidden_size;
  const tied = config.tie_word_embeddings;
  const { ids, targets, weights, tokens } = prepareCausalBatch(inputIds, labels, config.vocab_size);
  const [B, T] = ids.shape;
  const ctx: LayerContext = layerContext(config, opts, 0, T);
  const scale = (opts.reduction ?? "mean") === "sum" ? 1 : 1 / Math.max(tokens, 1);
  // inputs[i] is layer i's input; inputs[L] is the final hidden state (before model.norm).
  const inputs: tf.Tensor[] = [];
  const acquireRelease = async <R>(unit: string, f: (p: Map<string, tf.Tensor>) => R): Promise<R> => {
    const p = await hooks.acquire(unit);
    try {
      return f(p);
    } finally {
      hooks.release(unit, p);
    }
  };
  try {
    // ── forward: keep each layer's input only ─────────────────────────────────────────────
    inputs.push(
      await acquireRelease("embed", (p) =>
        tf.tidy(() => tf.gather(take(p, "embed", "model.embed_tokens.weight"), ids)),
      ),
    );
    for (let i = 0; i < L; i++) {
      const unit = `layers.${i}`;
      inputs.push(
        await acquireRelease(unit, (p) => decoderLayer(inputs[i], layerWeights(p, unit, i), ctx).out),
      );
    }

    // ── head: loss, and in backward its gradients and the gradient at the last hidden state ─
    const headLoss = (h: tf.Tensor, norm: tf.Tensor, out: tf.Tensor): tf.Scalar => {
      const x = rmsNorm(h, norm, config.rms_norm_eps);
      const shifted = tf.reshape(tf.slice(x, [0, 0, 0], [B, T - 1, H]), [B * (T - 1), H]);
      return tf.mul(weightedCrossEntropySum(linear(shifted, out) as tf.Tensor2D, targets, weights), scale);
    };
    const headParams = await hooks.acquire("head");
    const tiedParams = tied ? await hooks.acquire("embed") : null;
    let loss: number;
    let dh: tf.Tensor | null = null;
    let tiedGrad: tf.Tensor | null = null;
    try {
      const norm = take(headParams, "head", "model.norm.weight");
      const out = tied
        ? take(tiedParams!, "embed", "model.embed_tokens.weight")
        : take(headParams, "head", "lm_head.weight");
      if (!withGrads) {
        const v = tf.tidy(() => headLoss(inputs[L], norm, out));
        loss = (await v.data())[0];
        v.dispose();
        return { loss, tokens };
      }
      const { value, grads } = tf.valueAndGrads(headLoss)([inputs[L], norm, out]);
      loss = (await value.data())[0];
      value.dispose();
      [dh] = grads;
      const unitGrads = new Map([["model.norm.weight", grads[1]]]);
      if (tied) tiedGrad = grads[2];
      else unitGrads.set("lm_head.weight", grads[2]);
      if (hooks.gradients) await hooks.gradients("head", unitGrads);
      else tf.dispose([...unitGrads.values()]);
    } finally {
      hooks.release("head", headParams);
      if (tiedParams) hooks.release("embed", tiedParams);
    }

    // ── backward through the layers: re-run each forward under a tape, differentiate it ─────
    try {
      for (let i = L - 1; i >= 0; i--) {
        const unit = `layers.${i}`;
        const upstream: tf.Tensor = dh!;
        const g = await acquireRelease(unit, (p) =>
          tf.grads((h: tf.Tensor, ...w: tf.Tensor[]) => decoderLayer(h, w, ctx).out)(
            [inputs[i], ...layerWeights(p, unit, i)],
            upstream,
          ),
        );
        upstream.dispose();
        inputs[i + 1].dispose(); // layer i+1's input: its backward is done
        dh = g[0];
        const unitGrads = new Map(LAYER_PARAM_SUFFIXES.map((s, k) => [`model.layers.${i}.${s}`, g[k + 1]]));
        if (hooks.gradients) await hooks.gradients(unit, unitGrads);
        else tf.dispose([...unitGrads.values()]);
      }
      // The embedding's gradient is a scatter-add of the rows' gradients; it needs no parameters.
      const dEmbed = tf.tidy(() => {
        const rows = tf.unsortedSegmentSum(
          tf.reshape(dh!, [B * T, H]),
          tf.reshape(ids, [B * T]),
          config.vocab_size,
        );
        return tiedGrad ? tf.add(rows, tiedGrad) : rows;
      });
      const unitGrads = new Map([["model.embed_tokens.weight", dEmbed]]);
      if (hooks.gradients) await hooks.gradients("embed", unitGrads);
      else dEmbed.dispose();
    } finally {
      tf.dispose([dh, tiedGrad].filter((t): t is tf.Tensor => t !== null));
    }
    return { loss, tokens };
  } finally {
    tf.dispose([ids, ctx.cos, ctx.sin, ...inputs]);
  }
}

/** Forward-only causal-LM loss, unit by unit (e.g. evaluation on sharded parameters). */
export function layerwiseLoss(
  config: LlamaConfig,
  inputIds: ArrayLike<number>[],
  labels: ArrayLike<number>[],
  hooks: UnitHooks,
  opts: LayerwiseOptions = {},
): Promise<{ loss: number; tokens: number }> {
  return layerwisePass(config, inputIds, labels, hooks, opts, false);
}

/** Loss, forward and backward unit by unit; each unit's gradients go to `hooks.gradients`. */
export function layerwiseLossAndGrads(
  config: LlamaConfig,
  inputIds: ArrayLike<number>[],
  labels: ArrayLike<number>[],
  hooks: UnitHooks,
  opts: LayerwiseOptions = {},
): Promise<{ loss: number; tokens: number }> {
  return layerwisePass(config, inputIds, labels, hooks, opts, true);
}

/** Where a unit's parameters come from and its gradients go, as float32 arrays keyed by HF name. */
export interface Float32UnitSource {
  acquire(unit: string): Promise<Map<string, Float32Array>> | Map<string, Float32Array>;
  gradients?(unit: string, grads: Map<string, Float32Array>): Promise<void> | void;
  /**
   * The source reuses its buffers: `acquire`'s arrays are valid only until its next call, and the source
   * reads `gradients`' arrays before its promise settles and keeps none of them. The hooks then copy
   * acquired arrays into tensors at once on every backend, and may hand gradients out as views of the
   * backend's own memory (no copy per unit and step; see `readTransient`).
   */
  transient?: boolean;
}

/** Backends whose `write` copies the values at once (cpu and webgpu keep the caller's array). */
const COPIES_ON_WRITE = new Set(["native", "wasm"]);

/** A backend that can show a float32 tensor's own memory (the native backend's `stored`). */
interface StoredView {
  stored(t: tf.TensorInfo): ArrayBufferView;
  isBf16?(dataId: tf.DataId): boolean;
}

/**
 * A float32 tensor's values for a reader done before the tensor is disposed: the backend's own array
 * where it exposes one (native: no copy, no fresh JavaScript memory), else a copy (`data()`). The
 * array must not be kept, nor written unless the tensor is disposed right after.
 */
export async function readTransient(t: tf.Tensor): Promise<Float32Array> {
  const backend = tf.backend() as unknown as Partial<StoredView>;
  if (t.dtype === "float32" && typeof backend.stored === "function" && !backend.isBf16?.(t.dataId)) {
    const v = backend.stored(t);
    if (v instanceof Float32Array && v.length === t.size) return v;
  }
  return (await t.data()) as Float32Array;
}

/**
 * UnitHooks over float32 arrays (what a sharding package holds): acquired arrays become tensors of the
 * parameters' shapes for the unit's stage and are disposed on release; gradients come back as arrays.
 */
export function float32UnitHooks(config: LlamaConfig, source: Float32UnitSource): UnitHooks {
  const shapes = parameterShapes(resolveConfig(config as unknown as Record<string, unknown>));
  return {
    async acquire(unit) {
      const arrays = await source.acquire(unit);
      // a transient array must not become a tensor's storage on a backend that keeps it
      const copy = source.transient === true && !COPIES_ON_WRITE.has(tf.getBackend());
      const out = new Map<string, tf.Tensor>();
      for (const [name, data] of arrays) {
        const shape = shapes.get(name);
        const numel = shape?.reduce((a, b) => a * b, 1);
        if (!shape || data.length !== numel) {
          tf.dispose([...out.values()]);
          throw new Error(
            `acquire("${unit}"): "${name}" ${shape ? `has ${data.length} values, expected [${shape}]` : "is not a parameter"}`,
          );
        }
        out.set(name, tf.tensor(copy ? data.slice() : data, shape, "float32"));
      }
      return out;
    },
    release(_unit, params) {
      tf.dispose([...params.values()]);
    },
    async gradients(unit, grads) {
      const out = new Map<string, Float32Array>();
      try {
        for (const [name, t] of grads) {
          out.set(name, source.transient ? await readTransient(t) : ((await t.data()) as Float32Array));
          if (!source.transient) t.dispose();
        }
        await source.gradients?.(unit, out);
      } finally {
        tf.dispose([...grads.values()]); // (a no-op for those already disposed)
      }
    },
  };
}
