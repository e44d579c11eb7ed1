import type { Command } from "commander";

// Placeholder until the owning package lands; replaced by the real command.
export function registerPlot(program: Command): void {
  program
    .command("plot")
    .description("(not yet available)")
    .action(() => {
      throw new Error("plot is not implemented yet");
    });
}
