import { launchJob } from "@biomed-llama/fsdp-sharding";
import type { Command } from "commander";

function int(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
}

/**
 * `biomed-llama launch --nproc-per-node N [...] -- <command...>`: torchrun's job for this CLI. A command
 * that starts with one of our own subcommands (or with `biomed-llama`) runs this same CLI script under
 * this same node, so it works without the bin on PATH.
 */
export function registerLaunch(program: Command): void {
  program
    .command("launch")
    .description(
      "start one process per rank with torchrun-style variables (RANK, WORLD_SIZE, MASTER_ADDR, ...)",
    )
    .requiredOption("--nproc-per-node <n>", "ranks on this machine", int("--nproc-per-node"))
    .option("--nnodes <m>", "machines in the job", int("--nnodes"), 1)
    .option("--node-rank <k>", "this machine's index (0 hosts the rendezvous)", int("--node-rank"), 0)
    .option("--master-addr <addr>", "address of node 0", "127.0.0.1")
    .option(
      "--master-port <port>",
      "rendezvous port on node 0 (default: free port, or 29500 with --nnodes > 1)",
      int("--master-port"),
    )
    .argument("<command...>", "what each rank runs, after --")
    .addHelpText(
      "after",
      "\nExamples:\n  biomed-llama launch --nproc-per-node 4 -- pretrain --config run.json\n" +
        "  BIOMED_LLAMA_SECRET=s3cret biomed-llama launch --nproc-per-node 4 --nnodes 2 --node-rank 0 \\\n" +
        "      --master-addr 10.0.0.1 --master-port 29500 -- node train.js",
    )
    .action(async (command: string[], opts) => {
      const ownCommands = new Set(program.commands.map((c) => c.name()));
      const self = command[0] === "biomed-llama" || ownCommands.has(command[0]);
      const args = command[0] === "biomed-llama" ? command.slice(1) : command;
      const resolved = self ? [process.execPath, process.argv[1], ...args] : command;
      const result = await launchJob({
        nprocPerNode: opts.nprocPerNode,
        nnodes: opts.nnodes,
        nodeRank: opts.nodeRank,
        masterAddr: opts.masterAddr,
        masterPort: opts.masterPort,
        command: resolved,
      });
      process.exitCode = result.code;
    });
}
