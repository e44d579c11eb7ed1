import type { Command } from "commander";

// Placeholder until the owning package lands; replaced by the real command.
export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description("(not yet available)")
    .action(() => {
      throw new Error("generate is not implemented yet");
    });
}
