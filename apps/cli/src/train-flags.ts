import { rankInfoFromEnv } from "@biomed-llama/fsdp-sharding";
import { BACKEND_NAMES } from "@biomed-llama/llama-model";
import { loadConfig, resumeConfig, type TrainConfig, type TrainOptions, train } from "@biomed-llama/trainer";
import { type Command, Option } from "commander";

// The flags and the run shared by `pretrain` and `finetune`: they differ only in their data.

type FlagKind = "int" | "num" | "str" | "pair";

/** Every config key as a flag: `--seq-len` sets `seq_len`. Help text says what the key means. */
const FLAGS: [keyof TrainConfig, FlagKind, string][] = [
  ["init_from", "str", "HF checkpoint dir to start from (weights only, fresh optimizer)"],
  ["model", "str", "LLAMA_PRESETS name for a random init instead of --init-from"],
  ["init_seed", "int", "seed of the random init"],
  ["seq_len", "int", "tokens per sequence"],
  ["global_batch", "int", "sequences per optimizer step (= micro-batch × accumulation × ranks)"],
  ["micro_batch", "int", "sequences per forward/backward on one rank"],
  ["lr", "num", "peak learning rate"],
  ["warmup_steps", "int", "warmup steps (or --warmup-ratio)"],
  ["warmup_ratio", "num", "warmup as a fraction of all steps"],
  ["schedule", "str", "cosine | linear | constant"],
  ["min_lr_ratio", "num", "decay floor as a fraction of the peak lr"],
  ["betas", "pair", "AdamW betas, e.g. 0.9,0.95"],
  ["eps", "num", "AdamW eps"],
  ["weight_decay", "num", "AdamW decoupled weight decay"],
  ["decay", "str", "all | matrices (only ≥2-D weights decay)"],
  ["clip", "num", "max global gradient norm (0 = off)"],
  ["max_steps", "int", "optimizer steps (or --epochs)"],
  ["epochs", "num", "passes over the data"],
  ["packing", "str", "pack | truncate"],
  ["data_order", "str", "sequential | shuffle"],
  ["seed", "int", "data-order seed"],
  ["backend", "str", BACKEND_NAMES.join(" | ")],
  [
    "matmul_precision",
    "str",
    "f32 | bf16 (bf16: bfloat16 matmul inputs, float32 accumulate; native backend)",
  ],
  ["activation_checkpointing", "str", "none | layer (recompute each decoder layer in backward: less memory)"],
  ["sharding", "str", "full | grad-op | hybrid | hybrid-grad-op | none"],
  ["save_interval", "int", "checkpoint every N steps (0 = only at the end)"],
  ["keep_last", "int", "keep the newest K checkpoints"],
  ["eval_interval", "int", "held-out loss every N steps (0 = never)"],
  ["eval_data", "str", "held-out data (same format as --data)"],
  ["eval_sequences", "int", "held-out sequences per evaluation"],
  ["max_nonfinite_steps", "int", "stop after K non-finite steps in a row"],
  ["log_interval", "int", "log every N steps"],
  ["peak_tflops", "num", "peak TFLOP/s of one device, for MFU"],
];

const flagOf = (key: string) => `--${key.replace(/_/g, "-")}`;
const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Adds the run flags shared by pretrain and finetune. */
export function addTrainFlags(cmd: Command): Command {
  cmd
    .option("--config <file>", "JSON file of run keys (flags override it)")
    .option("--data <path>", "training data")
    .option("--out <dir>", "run directory (metrics.jsonl, checkpoints/)")
    .option("--resume <runDir>", "continue RUN_DIR from its newest checkpoint that verifies")
    .option(
      "--overwrite",
      "replace the run in a non-empty --out: its config, metrics, checkpoints, plots, report and eval; anything else there is kept (default: refuse)",
    )
    .addOption(
      new Option(
        "--transport <name>",
        "how ranks talk: tcp ring, or mpi (Open MPI; start ranks with mpirun / srun)",
      )
        .choices(["tcp", "mpi"])
        .env("BIOMED_LLAMA_TRANSPORT"),
    )
    // The trainer's initProcessGroup() (and the rank parsing above it) read the transport from the environment.
    .hook("preAction", (self) => {
      const t = self.opts().transport;
      if (t !== undefined) process.env.BIOMED_LLAMA_TRANSPORT = String(t);
    });
  for (const [key, kind, help] of FLAGS)
    cmd.option(`${flagOf(key)} <${kind === "pair" ? "a,b" : "value"}>`, help);
  return cmd;
}

/** Flag values as config keys; bad numbers are passed through as strings so validation names them. */
export function overridesFrom(opts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ["data", "out"]) if (opts[key] !== undefined) out[key] = opts[key];
  for (const [key, kind] of FLAGS) {
    const raw = opts[camel(key)];
    if (raw === undefined) continue;
    const s = String(raw);
    const num = (x: string) => (x.trim() !== "" && Number.isFinite(Number(x)) ? Number(x) : x);
    if (kind === "int" || kind === "num") out[key] = num(s);
    else if (kind === "pair") out[key] = s.split(",").map(num);
    else out[key] = s;
  }
  return out;
}

/**
 * The run config: the saved one on --resume, else defaults < --config file < flags. `flags` maps
 * each key a flag set to that flag, so a bad value is blamed on the flag, not the config file.
 */
export function runConfig(
  opts: Record<string, unknown>,
  defaults: Partial<TrainConfig> = {},
): { config: TrainConfig; resume: boolean; overwrite: boolean; flags: Record<string, string> } {
  const overrides = overridesFrom(opts);
  const flags: Record<string, string> = {};
  for (const key of Object.keys(overrides)) flags[key] = flagOf(key);
  const dpRanks = rankInfoFromEnv(process.env).worldSize;
  const overwrite = opts.overwrite === true;
  if (typeof opts.resume === "string") {
    if (overwrite) throw new Error("--overwrite: not with --resume (a resumed run keeps its directory)");
    return { config: resumeConfig(opts.resume, overrides, flags), resume: true, overwrite, flags };
  }
  const config = loadConfig(opts.config as string | undefined, overrides, {
    defaults,
    dpRanks,
    require: ["data", "out"],
    flags,
  });
  return { config, resume: false, overwrite, flags };
}

/**
 * The trainer's log lines on stderr. On a terminal the step lines (which carry the ETA) rewrite one
 * progress line in place; other lines, and every line when stderr is not a terminal, are plain.
 */
function runLog(): (line: string) => void {
  const tty = process.stderr.isTTY === true;
  let open = false;
  return (line) => {
    if (tty && /^step\s+\d+\/\d+ \| loss/.test(line)) {
      process.stderr.write(`\r\x1b[K${line}`);
      open = true;
      return;
    }
    process.stderr.write(`${open ? "\n" : ""}${line}\n`);
    open = false;
  };
}

/** A run as `runConfig` reads it from the flags. */
export type RunFlags = ReturnType<typeof runConfig>;

/**
 * Trains `run` on `data` with the trainer's log on stderr, then says where the last checkpoint is:
 * `${command}: done, N steps; last checkpoint DIR`.
 */
export async function runTraining(
  command: string,
  run: RunFlags,
  job: Pick<TrainOptions, "data" | "evalData" | "kind">,
): Promise<void> {
  const r = await train({ ...run, ...job, log: runLog() });
  if (r.lastCheckpoint)
    process.stderr.write(`${command}: done, ${r.stepsRun} steps; last checkpoint ${r.lastCheckpoint.dir}\n`);
}
