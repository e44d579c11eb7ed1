import { writeRunReport } from "@biomed-llama/trainer";
import type { Command } from "commander";

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("write RUN_DIR/report.html: config, loss/lr/throughput curves, MFU, checkpoints, eval table")
    .argument("<run-dir>", "a training run directory (has metrics.jsonl)")
    .option("--eval <files...>", "lm-eval results JSON files (default: RUN_DIR/eval/**/results*.json)")
    .option("--out <file>", "output HTML path (default: RUN_DIR/report.html)")
    .action(async (runDir: string, opts: { eval?: string[]; out?: string }) => {
      const path = await writeRunReport(runDir, { evalResults: opts.eval, out: opts.out });
      process.stdout.write(`${path}\n`);
    });
}
