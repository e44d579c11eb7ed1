import type { Command } from "commander";

// Placeholder until the owning package lands; replaced by the real command.
export function registerTokenize(program: Command): void {
  program
    .command("tokenize")
    .description("(not yet available)")
    .action(() => {
      throw new Error("tokenize is not implemented yet");
    });
}
