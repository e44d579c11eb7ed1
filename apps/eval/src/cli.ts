import { Command } from "commander";
import { registerCompare } from "./commands/compare.js";
import { registerRun } from "./commands/run.js";
import { registerScore } from "./commands/score.js";
import { registerTasks } from "./commands/tasks.js";

const program = new Command("biomed-eval").description(
  "lm-evaluation-harness style evaluation of LLaMA models.",
);
registerRun(program);
registerCompare(program);
registerScore(program);
registerTasks(program);
await program.parseAsync();
