import { openPretrainSequences, runModelConfig, type TrainConfig } from "@biomed-llama/trainer";
import type { Command } from "commander";
import { addTrainFlags, runConfig, runTraining } from "../train-flags.js";

/** EOS / pad ids of the model the run trains (the checkpoint's on resume, else its config.json or preset). */
export function modelSpecialIds(config: TrainConfig, resume: boolean): { eosId: number; padId: number } {
  const m = runModelConfig(config, resume).config;
  const eos = m.eos_token_id;
  return { eosId: (Array.isArray(eos) ? eos[0] : eos) ?? 2, padId: Math.max(m.pad_token_id ?? 0, 0) };
}

export function registerPretrain(program: Command): void {
  const cmd = program
    .command("pretrain")
    .description(
      "Continue pretraining (--init-from HF_DIR) or train from scratch (--model PRESET) on a Megatron indexed dataset (--data PREFIX).",
    );
  addTrainFlags(cmd).action(async (opts: Record<string, unknown>) => {
    const run = runConfig(opts);
    const { config } = run;
    const ids = modelSpecialIds(config, run.resume);
    const data = openPretrainSequences(config.data!, {
      packing: config.packing,
      seqLen: config.seq_len,
      ...ids,
    });
    const evalData = config.eval_data
      ? openPretrainSequences(config.eval_data, { packing: config.packing, seqLen: config.seq_len, ...ids })
      : null;
    try {
      await runTraining("pretrain", run, { data, evalData, kind: "pretrain" });
    } finally {
      data.close();
      evalData?.close();
    }
  });
}
