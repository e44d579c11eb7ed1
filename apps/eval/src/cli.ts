import { Command } from "commander";

const program = new Command("biomed-eval").description(
  "lm-evaluation-harness style evaluation of LLaMA models.",
);
program.parse();
