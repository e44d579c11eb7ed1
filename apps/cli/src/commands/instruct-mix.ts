import type { Command } from "commander";

// Placeholder until the owning package lands; replaced by the real command.
export function registerInstructMix(program: Command): void {
  program
    .command("instruct-mix")
    .description("(not yet available)")
    .action(() => {
      throw new Error("instruct-mix is not implemented yet");
    });
}
