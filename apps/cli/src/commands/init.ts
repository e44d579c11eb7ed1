import type { Command } from "commander";

// Placeholder until the owning package lands; replaced by the real command.
export function registerInit(program: Command): void {
  program
    .command("init")
    .description("(not yet available)")
    .action(() => {
      throw new Error("init is not implemented yet");
    });
}
