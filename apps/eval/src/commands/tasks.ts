import { TASK_GROUPS, TASKS } from "@biomed-llama/evaluator";
import type { Command } from "commander";

export function registerTasks(program: Command): void {
  program
    .command("tasks")
    .description("List the tasks and groups")
    .option("--json", "machine-readable list", false)
    .action((o: { json: boolean }) => {
      const rows = TASKS.map((t) => ({
        name: t.name,
        aliases: t.aliases ?? [],
        family: t.family,
        output_type: t.outputType,
        files: t.splits[t.testSplit].files,
      }));
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ tasks: rows, groups: TASK_GROUPS }, null, 2)}\n`);
        return;
      }
      for (const r of rows)
        process.stdout.write(
          `${r.name.padEnd(28)} ${r.family.padEnd(13)} ${r.output_type.padEnd(22)} ${r.files.join(", ")}\n`,
        );
      for (const [g, members] of Object.entries(TASK_GROUPS))
        process.stdout.write(`${g.padEnd(28)} group: ${members.join(", ")}\n`);
    });
}
