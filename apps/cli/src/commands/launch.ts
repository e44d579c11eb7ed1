import type { Command } from "commander";

// Placeholder until the owning package lands; replaced by the real command.
export function registerLaunch(program: Command): void {
  program
    .command("launch")
    .description("(not yet available)")
    .action(() => {
      throw new Error("launch is not implemented yet");
    });
}
