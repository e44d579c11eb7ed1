import type { Command } from "commander";

// Placeholder until the owning package lands; replaced by the real command.
export function registerPretrain(program: Command): void {
  program
    .command("pretrain")
    .description("(not yet available)")
    .action(() => {
      throw new Error("pretrain is not implemented yet");
    });
}
