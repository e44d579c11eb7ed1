import type { Command } from "commander";

// Placeholder until the owning package lands; replaced by the real command.
export function registerReport(program: Command): void {
  program
    .command("report")
    .description("(not yet available)")
    .action(() => {
      throw new Error("report is not implemented yet");
    });
}
