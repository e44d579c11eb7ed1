import type { Command } from "commander";

// Placeholder until the owning package lands; replaced by the real command.
export function registerExtract(program: Command): void {
  program
    .command("extract")
    .description("(not yet available)")
    .action(() => {
      throw new Error("extract is not implemented yet");
    });
}
