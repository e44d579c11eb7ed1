import type { Command } from "commander";

// Placeholder until the owning package lands; replaced by the real command.
export function registerFinetune(program: Command): void {
  program
    .command("finetune")
    .description("(not yet available)")
    .action(() => {
      throw new Error("finetune is not implemented yet");
    });
}
