import { writeRunReport } from "@biomed-llama/run-report";
import { checkOutput } from "@biomed-llama/safe-files";
import type { Command } from "commander";

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("write RUN_DIR/report.html: config, loss/lr/throughput curves, MFU, checkpoints, eval table")
    .argument("<run-dir>", "a training run directory (has metrics.jsonl)")
    .option("--eval <files...>", "lm-eval results JSON files (default: RUN_DIR/eval/**/results*.json)")
    .option(
      "--out <file>",
      "output HTML path (default: RUN_DIR/report.html, rewritten each time; an existing --out file is refused)",
    )
    .option("--overwrite", "replace an existing --out file")
    .action(async (runDir: string, opts: { eval?: string[]; out?: string; overwrite?: boolean }) => {
      // RUN_DIR/report.html is derived from the run and rewritten each time; a path the user
      // names may hold anything, so it is only replaced when asked to.
      if (opts.out !== undefined)
        checkOutput(opts.out, { flag: "--out", kind: "file", overwrite: opts.overwrite });
      const path = await writeRunReport(runDir, { evalResults: opts.eval, out: opts.out });
      process.stdout.write(`${path}\n`);
    });
}
