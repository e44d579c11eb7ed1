import * as fs from "node:fs";
import * as path from "node:path";
import { verifyManifest, withPath, writeDirAtomic } from "@biomed-llama/safe-files";
import {
  SafetensorsCheckpoint,
  type TensorSource,
  writeSafetensorsCheckpoint,
} from "@biomed-llama/safetensors";
import * as tf from "@tensorflow/tfjs";
import { type LlamaConfig, LlamaConfigError, parameterShapes, resolveConfig } from "./config.js";
import { initialParameter } from "./hf-init.js";
import { LlamaForCausalLM, type LlamaOptions, nativeWeightHost } from "./llama.js";
import { checkParameterLimits } from "./tensor-limits.js";

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

export interface SaveOptions {
  /** Stored dtype; default "F32". BF16 rounds to nearest even, as torch does. */
  dtype?: "F32" | "BF16";
  /** Shard into model-0000i-of-0000n.safetensors + index above this many bytes per file. */
  maxShardBytes?: number;
  /** A SentencePiece tokenizer.model to copy beside the weights (HF's LlamaTokenizer reads it there). */
  tokenizerModel?: string;
  /**
   * Replace an existing non-empty `dir` (atomically). Default: true for saveHFCheckpoint and
   * saveHFStateDict (a run re-saves its own checkpoints), false for initHFCheckpoint, which refuses
   * rather than delete what is there.
   */
  overwrite?: boolean;
}

/** Read and validate `dir/config.json`. */
export function readHFConfig(dir: string): LlamaConfig {
  const file = path.join(dir, "config.json");
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      `${file}: ${code === "ENOENT" ? "not found" : `not valid JSON (${(e as Error).message})`}`,
    );
  }
  try {
    return resolveConfig(raw as Record<string, unknown>, file);
  } catch (e) {
    if (e instanceof LlamaConfigError) throw new CheckpointError(e.message);
    throw e;
  }
}

// Tensors HF checkpoints may carry that are not parameters (older exports saved RoPE's buffer).
const IGNORED = /\.rotary_emb\.inv_freq$/;

/** How a loaded model holds weights that the checkpoint stores as BF16 (see `LoadHFOptions.weights`). */
export type WeightStorage = "f32" | "bf16";

export interface LoadHFOptions extends Omit<LlamaOptions, "seed" | "uninitialized"> {
  /**
   * "f32" (the default): every parameter float32 — exact master weights, what training needs.
   * "bf16": on the native backend, matrices (embedding, projections, lm_head) stored as BF16 are read from
   * the file straight into native bfloat16 storage and stay there — 2 bytes per parameter, widened to
   * float32 inside each matmul (in ~4 MiB slices) and embedding lookup, never as a whole float32 copy;
   * results equal the float32 model of the same (bfloat16) values to float32 rounding. For evaluation,
   * generation and frozen weights; `bf16Parameters()` lists them. Norm weights (1-D, a few KB) and F32/F16
   * tensors load as float32; so does everything on other backends (the same values, the same results).
   */
  weights?: WeightStorage;
  /** (bytes read, total bytes): once at 0 before the first read, after every chunk (≤ 64 MiB), at the end. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** Check the files against the trainer's manifest.json where there is one (default true); see
   * loadHFCheckpoint. */
  verify?: boolean;
}

/**
 * Load a Hugging Face LLaMA checkpoint directory (config.json + model.safetensors or a sharded index).
 * Each tensor is read with positioned reads straight into the memory that becomes its parameter (native
 * memory on the native backend): no whole file, no second copy of a weight, the model built around the
 * loaded tensors without parameters of its own. Missing, unexpected or mis-shaped tensors fail before
 * any weight is read, with the tensor and file named.
 */
export async function loadHFCheckpoint(dir: string, opts: LoadHFOptions = {}): Promise<LlamaForCausalLM> {
  const { weights = "f32", onProgress, verify = true, ...modelOpts } = opts;
  if (weights !== "f32" && weights !== "bf16")
    throw new CheckpointError(`weights must be "f32" or "bf16", got ${JSON.stringify(weights)}`);
  const config = readHFConfig(dir);
  // A trainer checkpoint (RUN/checkpoints/step-N/) records the size and sha256 of its files in
  // manifest.json: the files a model load reads (not the optimizer state under train_state/) must
  // match before any weight is read. A directory without such a manifest is taken as it is.
  const damaged = verify ? verifyManifest(dir, "manifest.json", (p) => !p.includes("/")) : null;
  if (damaged) throw new CheckpointError(damaged);
  const shapes = parameterShapes(config);
  checkParameterLimits(shapes, dir);
  const ckpt = new SafetensorsCheckpoint(dir);
  const tensors = new Map<string, tf.Tensor>();
  try {
    for (const [name, shape] of shapes) {
      if (!ckpt.has(name))
        throw new CheckpointError(`${dir}: missing tensor "${name}" (config.json expects it)`);
      const info = ckpt.info(name);
      if (info.shape.join(",") !== shape.join(","))
        throw new CheckpointError(
          `${ckpt.fileOf(name)}: tensor "${name}" has shape [${info.shape}], config.json implies [${shape}]`,
        );
      if (!["F32", "F16", "BF16"].includes(info.dtype))
        throw new CheckpointError(
          `${ckpt.fileOf(name)}: tensor "${name}" has dtype ${info.dtype}, expected F32, F16 or BF16`,
        );
    }
    for (const name of ckpt.weightMap.keys()) {
      const tiedHead = name === "lm_head.weight" && config.tie_word_embeddings;
      if (!shapes.has(name) && !IGNORED.test(name) && !tiedHead)
        throw new CheckpointError(
          `${ckpt.fileOf(name)}: unexpected tensor "${name}" (not in a ${config.num_hidden_layers}-layer LlamaForCausalLM)`,
        );
    }
    const host = nativeWeightHost();
    const total = [...shapes.keys()].reduce((n, name) => n + ckpt.byteLength(name), 0);
    let read = 0;
    const onBytes = (n: number) => {
      read += n;
      onProgress?.(read, total);
    };
    onProgress?.(0, total);
    for (const [name, shape] of shapes) {
      const info = ckpt.info(name);
      const numel = shape.reduce((a, b) => a * b, 1);
      if (host && weights === "bf16" && info.dtype === "BF16" && shape.length === 2) {
        // The tensor owns its native memory before the read, so a failed read frees it with the rest.
        const values = host.allocBf16(numel);
        tensors.set(name, tf.engine().makeTensorFromTensorInfo(host.adoptBf16TensorInfo(values, shape)));
        ckpt.readInto(name, values, onBytes);
      } else if (host) {
        const values = host.allocArray("float32", numel);
        tensors.set(
          name,
          tf.engine().makeTensorFromTensorInfo(host.adoptTensorInfo(values, shape, "float32")),
        );
        ckpt.readFloat32Into(name, values, onBytes);
      } else {
        const values = new Float32Array(numel);
        ckpt.readFloat32Into(name, values, onBytes);
        tensors.set(name, tf.tensor(values, shape, "float32"));
      }
      // Let timers (progress bars) and signals run between tensors: the reads themselves are synchronous.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return LlamaForCausalLM.fromTensors(config, tensors, modelOpts);
  } catch (e) {
    tf.dispose([...tensors.values()]);
    throw e;
  } finally {
    ckpt.close();
  }
}

/**
 * Build the checkpoint in a temp directory beside `dir`, then rename it into place, so a crash
 * leaves either the old checkpoint or the new one, never a mix, and a failure leaves nothing (not
 * even the parent directories it had to create). An existing non-empty `dir` is replaced only when
 * `overwrite`; errors name the files by their final paths.
 */
async function writeAtomically(
  dir: string,
  overwrite: boolean,
  fill: (tmp: string) => Promise<void>,
): Promise<void> {
  const final = path.resolve(dir);
  let existing: fs.Stats | undefined;
  try {
    existing = fs.statSync(final);
  } catch {
    // nothing there yet
  }
  if (existing && !existing.isDirectory())
    throw new CheckpointError(`${final}: exists and is not a directory; pick another path`);
  if (existing && !overwrite && fs.readdirSync(final).length > 0)
    throw new CheckpointError(
      `${final}: already exists and is not empty; refusing to replace it (overwrite: true replaces it)`,
    );
  let staging: string | undefined;
  try {
    await writeDirAtomic(
      final,
      (tmp) => {
        staging = tmp;
        return fill(tmp);
      },
      { replace: overwrite },
    );
  } catch (e) {
    if (staging && e instanceof Error) e.message = e.message.split(staging).join(final);
    throw e;
  }
}

async function writeCheckpointDir(
  tmp: string,
  config: LlamaConfig,
  src: TensorSource,
  opts: SaveOptions,
): Promise<void> {
  const dtype = opts.dtype ?? "F32";
  const cfg = { ...config, torch_dtype: dtype === "BF16" ? "bfloat16" : "float32" };
  const write = (name: string, text: string) => {
    const file = path.join(tmp, name);
    withPath(file, () => fs.writeFileSync(file, text));
  };
  write("config.json", `${JSON.stringify(cfg, null, 2)}\n`);
  write(
    "generation_config.json",
    `${JSON.stringify({ bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id, pad_token_id: config.pad_token_id ?? undefined }, null, 2)}\n`,
  );
  await writeSafetensorsCheckpoint(tmp, src, { dtype, maxShardBytes: opts.maxShardBytes });
  if (opts.tokenizerModel) {
    if (!fs.existsSync(opts.tokenizerModel))
      throw new CheckpointError(`${opts.tokenizerModel}: tokenizer model not found`);
    const file = path.join(tmp, "tokenizer.model");
    withPath(file, () => fs.copyFileSync(opts.tokenizerModel as string, file));
  }
}

/** Save as a Hugging Face checkpoint `transformers` loads unchanged (atomic: temp dir + rename). */
export async function saveHFCheckpoint(
  model: LlamaForCausalLM,
  dir: string,
  opts: SaveOptions = {},
): Promise<void> {
  const params = model.namedParameters();
  const entries = [...params].map(([name, v]) => ({ name, shape: v.shape }));
  await writeAtomically(dir, opts.overwrite ?? true, (tmp) =>
    writeCheckpointDir(
      tmp,
      model.config,
      // One parameter at a time through the asynchronous read, which every backend has (WebGPU has no other).
      { entries, data: async (name) => (await params.get(name)?.data()) as Float32Array },
      opts,
    ),
  );
}

/**
 * Save parameters held outside a model (e.g. gathered from shards) as a Hugging Face checkpoint, in
 * the same layout as `saveHFCheckpoint`. Every parameter of `config` must be present: in the map, or
 * given by `state(name)`, which is called once per parameter in checkpoint order.
 */
export async function saveHFStateDict(
  config: LlamaConfig,
  state: ReadonlyMap<string, Float32Array> | ((name: string) => Promise<Float32Array>),
  dir: string,
  opts: SaveOptions = {},
): Promise<void> {
  const cfg = resolveConfig(config as unknown as Record<string, unknown>);
  const shapes = parameterShapes(cfg);
  const numelOf = (name: string) => (shapes.get(name) as number[]).reduce((a, b) => a * b, 1);
  const bad = (name: string) =>
    new CheckpointError(`${dir}: tensor "${name}" is missing or does not have ${numelOf(name)} values`);
  // A map is checked whole before anything is written; values pulled one at a time (parameters
  // gathered from shards unit by unit, so no full copy exists) are checked as they come.
  if (typeof state !== "function")
    for (const name of shapes.keys()) if (state.get(name)?.length !== numelOf(name)) throw bad(name);
  const get =
    typeof state === "function"
      ? async (name: string) => {
          const data = await state(name);
          if (data?.length !== numelOf(name)) throw bad(name);
          return data;
        }
      : (name: string) => state.get(name) as Float32Array;
  const entries = [...shapes].map(([name, shape]) => ({ name, shape }));
  await writeAtomically(dir, opts.overwrite ?? true, (tmp) =>
    writeCheckpointDir(tmp, cfg, { entries, data: get }, opts),
  );
}

/**
 * Write a freshly initialised checkpoint (HF's init: normal(0, initializer_range), norms 1) without
 * building a model: each tensor is generated, written and dropped, so llama-7b needs ~1 GB, not 27.
 * The weights equal `new LlamaForCausalLM(config, { seed })`. `onTensor(done, total)` counts
 * parameters, as `parameterCount(config)` does, and ends at `done === total`. An existing
 * non-empty `dir` is refused unless `overwrite`.
 */
export async function initHFCheckpoint(
  config: LlamaConfig,
  dir: string,
  opts: SaveOptions & { seed?: number; onTensor?: (done: number, total: number) => void } = {},
): Promise<void> {
  const cfg = resolveConfig(config as Record<string, unknown>);
  const shapes = parameterShapes(cfg);
  const entries = [...shapes].map(([name, shape]) => ({ name, shape }));
  const total = entries.reduce((a, e) => a + e.shape.reduce((x, y) => x * y, 1), 0);
  let done = 0;
  await writeAtomically(dir, opts.overwrite ?? false, (tmp) =>
    writeCheckpointDir(
      tmp,
      cfg,
      {
        entries,
        data: (name) => {
          const shape = shapes.get(name) as number[];
          const data = initialParameter(cfg, name, shape, opts.seed ?? 0);
          done += data.length;
          opts.onTensor?.(done, total);
          return data;
        },
      },
      opts,
    ),
  );
}
