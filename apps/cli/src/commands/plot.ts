import { plotRun } from "@biomed-llama/run-report";
import type { Command } from "commander";

export function registerPlot(program: Command): void {
  program
    .command("plot")
    .description(
      "Loss (with running average), learning-rate and throughput curves of a run: RUN_DIR/loss.svg and loss.png " +
        "(derived from metrics.jsonl, so they are rewritten each time).",
    )
    .argument("<runDir>", "run directory holding metrics.jsonl")
    .option("--smooth <steps>", "running-average window in steps (default: steps / 50)")
    .option("--no-png", "write only the SVG")
    .action(async (runDir: string, opts: { smooth?: string; png: boolean }) => {
      const smoothWindow = opts.smooth === undefined ? undefined : Number(opts.smooth);
      if (smoothWindow !== undefined && !(Number.isInteger(smoothWindow) && smoothWindow >= 1))
        throw new Error(`--smooth: expected a whole number of steps >= 1, got "${opts.smooth}"`);
      const r = await plotRun(runDir, { smoothWindow, png: opts.png });
      process.stdout.write(`${r.svg}\n${r.png ? `${r.png}\n` : ""}`);
    });
}
