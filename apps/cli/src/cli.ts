import { Command } from "commander";
import { registerExtract } from "./commands/extract.js";
import { registerFinetune } from "./commands/finetune.js";
import { registerGenerate } from "./commands/generate.js";
import { registerInit } from "./commands/init.js";
import { registerInstructMix } from "./commands/instruct-mix.js";
import { registerLaunch } from "./commands/launch.js";
import { registerPlot } from "./commands/plot.js";
import { registerPretrain } from "./commands/pretrain.js";
import { registerReport } from "./commands/report.js";
import { registerTokenize } from "./commands/tokenize.js";
import { fail } from "./fail.js";

const program = new Command("biomed-llama")
  .description("BioMed-LLaMA in TypeScript: Pile extraction, tokenization, pretraining, fine-tuning.")
  // a bad flag is one line naming it (and `--help` says the rest), like every other error
  .showHelpAfterError(false);

registerExtract(program);
registerTokenize(program);
registerInit(program);
registerPretrain(program);
registerFinetune(program);
registerInstructMix(program);
registerLaunch(program);
registerPlot(program);
registerReport(program);
registerGenerate(program);

program.parseAsync().catch(fail);
