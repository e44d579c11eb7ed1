import { readFileSync } from "node:fs";
import { BACKEND_NAMES, type BackendName, type MatmulPrecision } from "@biomed-llama/llama-model";
import { ConfigError } from "./errors.js";

/**
 * Every key of a training run. Keys are snake_case so that a JSON config file, the CLI flags
 * (`--seq-len` → `seq_len`) and the `manifest.json` of a checkpoint all spell them the same way.
 */
export interface TrainConfig {
  /** HF checkpoint directory to start from (weights only; fresh optimizer). */
  init_from: string | null;
  /** `LLAMA_PRESETS` name for a randomly initialised model when there is no `init_from`. */
  model: string | null;
  /** Seed of the random initialisation when `model` is used. */
  init_seed: number;
  /** Megatron indexed-dataset prefix (pretrain) or a fine-tuning data file. */
  data: string | null;
  /** Run directory: metrics.jsonl, checkpoints/. */
  out: string | null;
  seq_len: number;
  /** Sequences per optimizer step = micro_batch × accumulation × data-parallel ranks. */
  global_batch: number;
  /** Sequences per forward/backward on one rank. */
  micro_batch: number;
  lr: number;
  /** Exactly one of warmup_steps / warmup_ratio is used; a ratio is of the total steps. */
  warmup_steps: number | null;
  warmup_ratio: number | null;
  schedule: "cosine" | "linear" | "constant";
  /** The schedule decays to lr × min_lr_ratio. */
  min_lr_ratio: number;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  /** "all": every parameter decays (torch default); "matrices": only ≥2-D weights (no norms). */
  decay: "all" | "matrices";
  /** Max global gradient norm; 0 disables clipping. */
  clip: number;
  /** Exactly one of max_steps / epochs. */
  max_steps: number | null;
  epochs: number | null;
  packing: "pack" | "truncate";
  data_order: "sequential" | "shuffle";
  seed: number;
  backend: BackendName;
  /** "bf16": bfloat16 matmul inputs with float32 accumulation (native backend); default exact "f32". */
  matmul_precision: MatmulPrecision;
  /** "layer": keep only each decoder layer's input and recompute the layer in backward (less memory). */
  activation_checkpointing: "none" | "layer";
  sharding: "full" | "grad-op" | "hybrid" | "hybrid-grad-op" | "none";
  /** Save a checkpoint every N steps (0: only at the end). */
  save_interval: number;
  /** Keep the newest K complete checkpoints. */
  keep_last: number;
  /** Evaluate the held-out loss every N steps (0: never). */
  eval_interval: number;
  eval_data: string | null;
  /** Sequences of eval_data used for the held-out loss. */
  eval_sequences: number;
  /** Stop with an error after this many optimizer steps in a row with a non-finite loss/grad norm. */
  max_nonfinite_steps: number;
  /** Log every N steps. */
  log_interval: number;
  /** Peak dense throughput of one device, TFLOP/s, for MFU (312 = A100 bf16, the seed's GPUs). */
  peak_tflops: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  init_from: null,
  model: null,
  init_seed: 0,
  data: null,
  out: null,
  seq_len: 2048,
  global_batch: 8,
  micro_batch: 1,
  lr: 3e-5,
  warmup_steps: null,
  warmup_ratio: 0.03,
  schedule: "cosine",
  min_lr_ratio: 0.1,
  betas: [0.9, 0.95],
  eps: 1e-8,
  weight_decay: 0.1,
  decay: "all",
  clip: 1.0,
  max_steps: null,
  epochs: 1,
  packing: "pack",
  data_order: "shuffle",
  seed: 1234,
  backend: "auto",
  matmul_precision: "f32",
  activation_checkpointing: "none",
  sharding: "none",
  save_interval: 0,
  keep_last: 2,
  eval_interval: 0,
  eval_data: null,
  eval_sequences: 16,
  max_nonfinite_steps: 5,
  log_interval: 1,
  peak_tflops: 312,
};

/**
 * Fine-tuning starts from these instead of the pretraining defaults: the seed's supervised runs
 * (lr 2e-5, weight decay 1e-4, 3 epochs, 128 examples per step, answers after a masked prompt).
 */
export const FINETUNE_DEFAULTS: Partial<TrainConfig> = {
  lr: 2e-5,
  weight_decay: 1e-4,
  epochs: 3,
  max_steps: null,
  global_batch: 128,
  micro_batch: 1,
  warmup_ratio: 0.03,
  warmup_steps: null,
  schedule: "cosine",
  min_lr_ratio: 0,
  seq_len: 2048,
  data_order: "shuffle",
};

/** Keys a resumed run may change; the others define the run and are taken from its checkpoint. */
export const RESUMABLE_OVERRIDES: (keyof TrainConfig)[] = [
  "data",
  "eval_data",
  "backend",
  "save_interval",
  "keep_last",
  "eval_interval",
  "eval_sequences",
  "max_nonfinite_steps",
  "log_interval",
  "peak_tflops",
];

type Kind =
  | { t: "int"; min: number }
  | { t: "num"; min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean }
  | { t: "enum"; values: readonly string[] }
  | { t: "str" }
  | { t: "betas" };

const SCHEMA: Record<keyof TrainConfig, { kind: Kind; nullable?: boolean }> = {
  init_from: { kind: { t: "str" }, nullable: true },
  model: { kind: { t: "str" }, nullable: true },
  init_seed: { kind: { t: "int", min: 0 } },
  data: { kind: { t: "str" }, nullable: true },
  out: { kind: { t: "str" }, nullable: true },
  seq_len: { kind: { t: "int", min: 2 } },
  global_batch: { kind: { t: "int", min: 1 } },
  micro_batch: { kind: { t: "int", min: 1 } },
  lr: { kind: { t: "num", min: 0, minExclusive: true } },
  warmup_steps: { kind: { t: "int", min: 0 }, nullable: true },
  warmup_ratio: { kind: { t: "num", min: 0, max: 1, maxExclusive: true }, nullable: true },
  schedule: { kind: { t: "enum", values: ["cosine", "linear", "constant"] } },
  min_lr_ratio: { kind: { t: "num", min: 0, max: 1 } },
  betas: { kind: { t: "betas" } },
  eps: { kind: { t: "num", min: 0, minExclusive: true } },
  weight_decay: { kind: { t: "num", min: 0 } },
  decay: { kind: { t: "enum", values: ["all", "matrices"] } },
  clip: { kind: { t: "num", min: 0 } },
  max_steps: { kind: { t: "int", min: 1 }, nullable: true },
  epochs: { kind: { t: "num", min: 0, minExclusive: true }, nullable: true },
  packing: { kind: { t: "enum", values: ["pack", "truncate"] } },
  data_order: { kind: { t: "enum", values: ["sequential", "shuffle"] } },
  seed: { kind: { t: "int", min: 0 } },
  backend: { kind: { t: "enum", values: [...BACKEND_NAMES] } },
  matmul_precision: { kind: { t: "enum", values: ["f32", "bf16"] } },
  activation_checkpointing: { kind: { t: "enum", values: ["none", "layer"] } },
  sharding: { kind: { t: "enum", values: ["full", "grad-op", "hybrid", "hybrid-grad-op", "none"] } },
  save_interval: { kind: { t: "int", min: 0 } },
  keep_last: { kind: { t: "int", min: 1 } },
  eval_interval: { kind: { t: "int", min: 0 } },
  eval_data: { kind: { t: "str" }, nullable: true },
  eval_sequences: { kind: { t: "int", min: 1 } },
  max_nonfinite_steps: { kind: { t: "int", min: 1 } },
  log_interval: { kind: { t: "int", min: 1 } },
  peak_tflops: { kind: { t: "num", min: 0, minExclusive: true } },
};

export const TRAIN_CONFIG_KEYS = Object.keys(SCHEMA) as (keyof TrainConfig)[];

function checkValue(key: string, v: unknown, kind: Kind): string | null {
  switch (kind.t) {
    case "str":
      return typeof v === "string" && v.length > 0 ? null : `${key}: expected a non-empty string`;
    case "enum":
      return typeof v === "string" && kind.values.includes(v)
        ? null
        : `${key}: expected one of ${kind.values.join("|")}, got ${JSON.stringify(v)}`;
    case "int":
      if (typeof v !== "number" || !Number.isInteger(v))
        return `${key}: expected an integer, got ${JSON.stringify(v)}`;
      return v >= kind.min ? null : `${key}: must be >= ${kind.min}, got ${v}`;
    case "num": {
      if (typeof v !== "number" || !Number.isFinite(v))
        return `${key}: expected a number, got ${JSON.stringify(v)}`;
      if (kind.min !== undefined && (kind.minExclusive ? v <= kind.min : v < kind.min))
        return `${key}: must be ${kind.minExclusive ? ">" : ">="} ${kind.min}, got ${v}`;
      if (kind.max !== undefined && (kind.maxExclusive ? v >= kind.max : v > kind.max))
        return `${key}: must be ${kind.maxExclusive ? "<" : "<="} ${kind.max}, got ${v}`;
      return null;
    }
    case "betas": {
      if (!Array.isArray(v) || v.length !== 2) return `${key}: expected [beta1, beta2]`;
      const bad = v.findIndex((b) => typeof b !== "number" || !(b >= 0 && b < 1));
      return bad < 0 ? null : `${key}[${bad}]: must be a number in [0, 1), got ${JSON.stringify(v[bad])}`;
    }
  }
}

export interface ValidateOptions {
  /** Data-parallel ranks; global_batch must be divisible by micro_batch × dpRanks. */
  dpRanks?: number;
  /** Where the values came from, for the error message. */
  source?: string;
  /** Keys that must be set (non-null) for this command, e.g. ["data", "out"]. */
  require?: (keyof TrainConfig)[];
  /** Keys set by command-line flags, with the flag's name: their problems are blamed on the flag
   * (`--lr: expected a number`), not on the config file. */
  flags?: Record<string, string>;
}

/**
 * A ConfigError whose problems about flag-set keys name the flag instead of the key; when every
 * problem is such a one, the error names no file either.
 */
export function blameFlags(
  err: ConfigError,
  source: string,
  flags: Record<string, string> = {},
): ConfigError {
  let fromFlags = 0;
  const problems = err.problems.map((p) => {
    const key = /^([a-z_]+)(?=[:[/])/.exec(p)?.[1];
    const flag = key !== undefined ? flags[key] : undefined;
    if (!flag) return p;
    fromFlags++;
    return flag + p.slice((key as string).length);
  });
  if (fromFlags === 0) return err;
  return new ConfigError(fromFlags === problems.length ? "" : source, problems);
}

/**
 * Merges `raw` over the defaults and checks it. Collects every problem (unknown keys, types,
 * ranges, and the cross-key rules) and throws one ConfigError listing all of them, so a user
 * fixes a config in one round instead of one error per run.
 */
export function validateConfig(raw: Record<string, unknown>, opts: ValidateOptions = {}): TrainConfig {
  const problems: string[] = [];
  const merged: Record<string, unknown> = { ...DEFAULT_TRAIN_CONFIG };
  for (const [k, v] of Object.entries(raw)) {
    if (!(k in SCHEMA)) {
      problems.push(`unknown key "${k}"`);
      continue;
    }
    if (v !== undefined) merged[k] = v;
  }
  for (const key of TRAIN_CONFIG_KEYS) {
    const { kind, nullable } = SCHEMA[key];
    const v = merged[key];
    if (v === null) {
      if (!nullable) problems.push(`${key}: must not be null`);
      continue;
    }
    const p = checkValue(key, v, kind);
    if (p) problems.push(p);
  }
  const c = merged as unknown as TrainConfig;
  for (const key of opts.require ?? []) if (c[key] === null) problems.push(`${key}: required`);
  // Cross-key rules; only meaningful when the keys involved passed their own checks.
  const ok = (k: keyof TrainConfig) => !problems.some((p) => p.startsWith(`${k}:`) || p.startsWith(`${k}[`));
  if ("warmup_steps" in raw && raw.warmup_steps !== null && !("warmup_ratio" in raw)) c.warmup_ratio = null;
  if ("warmup_ratio" in raw && raw.warmup_ratio !== null && !("warmup_steps" in raw)) c.warmup_steps = null;
  if ((c.warmup_steps === null) === (c.warmup_ratio === null))
    problems.push("warmup_steps/warmup_ratio: set exactly one of them");
  if ("max_steps" in raw && raw.max_steps !== null && !("epochs" in raw)) c.epochs = null;
  if ("epochs" in raw && raw.epochs !== null && !("max_steps" in raw)) c.max_steps = null;
  if ((c.max_steps === null) === (c.epochs === null))
    problems.push("max_steps/epochs: set exactly one of them");
  if (
    ok("warmup_steps") &&
    ok("max_steps") &&
    c.warmup_steps !== null &&
    c.max_steps !== null &&
    c.warmup_steps > c.max_steps
  )
    problems.push(`warmup_steps: ${c.warmup_steps} exceeds max_steps ${c.max_steps}`);
  if (c.init_from !== null && c.model !== null) problems.push("init_from/model: set at most one of them");
  const dp = opts.dpRanks ?? 1;
  if (ok("global_batch") && ok("micro_batch") && c.global_batch % (c.micro_batch * dp) !== 0)
    problems.push(
      `global_batch: ${c.global_batch} is not divisible by micro_batch × data-parallel ranks = ${c.micro_batch} × ${dp}`,
    );
  if (problems.length > 0) throw new ConfigError(opts.source ?? "config", problems);
  return { ...c, betas: [c.betas[0], c.betas[1]] };
}

/** Reads a JSON config file (keys as in TrainConfig); parse errors name the file. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(path, [`cannot read: ${(e as Error).message}`]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(path, [`not valid JSON: ${(e as Error).message}`]);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new ConfigError(path, ["expected a JSON object of config keys"]);
  const obj = { ...(parsed as Record<string, unknown>) };
  // "$comment"-style keys document a shipped config; they are not settings.
  for (const k of Object.keys(obj)) if (k.startsWith("$") || k.startsWith("_")) delete obj[k];
  return obj;
}

/**
 * Merges config layers, later winning: setting one half of an either/or pair (warmup_steps /
 * warmup_ratio, max_steps / epochs) in a layer clears the other half set by an earlier layer.
 */
export function mergeConfigLayers(...layers: Record<string, unknown>[]): Record<string, unknown> {
  const pairs: [string, string][] = [
    ["warmup_steps", "warmup_ratio"],
    ["max_steps", "epochs"],
    // A checkpoint to continue from (--init-from) replaces a file's random-init preset, and back.
    ["init_from", "model"],
  ];
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) merged[k] = v;
    for (const [a, b] of pairs) {
      const setA = layer[a] !== undefined && layer[a] !== null;
      const setB = layer[b] !== undefined && layer[b] !== null;
      if (setA && !setB && layer[b] === undefined) merged[b] = null;
      if (setB && !setA && layer[a] === undefined) merged[a] = null;
    }
  }
  return merged;
}

/**
 * Config from defaults (e.g. FINETUNE_DEFAULTS), an optional JSON file and overrides (CLI flags):
 * flags win over the file, the file over the defaults. All problems are reported together.
 */
export function loadConfig(
  file: string | null | undefined,
  overrides: Record<string, unknown>,
  opts: ValidateOptions & { defaults?: Partial<TrainConfig> } = {},
): TrainConfig {
  const base = file ? readConfigFile(file) : {};
  const merged = mergeConfigLayers((opts.defaults ?? {}) as Record<string, unknown>, base, overrides);
  const source = opts.source ?? file ?? "config";
  try {
    return validateConfig(merged, { ...opts, source });
  } catch (e) {
    throw e instanceof ConfigError ? blameFlags(e, source, opts.flags) : e;
  }
}
