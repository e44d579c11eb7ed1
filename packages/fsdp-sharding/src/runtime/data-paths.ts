import type { ProcessGroup } from "./process-group.js";

/** How one group moves its data: "single-copy", "shm" or "tcp" (our ring), "mpi", or "-" (one member). */
export function dataPathOf(group: ProcessGroup): string {
  if (group.size === 1) return "-";
  const path = (group as { dataPath?: string }).dataPath;
  return path ?? "mpi";
}

/**
 * One line for a run log: the job's layout and how each of the world's groups moves data, e.g.
 * "4 ranks on 2 nodes; world tcp, intra-node shm, inter-node tcp". A reader sees at once whether the
 * ranks of a node share memory and whether anything crosses nodes by another path than the network.
 */
export function describeDataPaths(world: ProcessGroup): string {
  const nodes = world.size / world.localSize;
  const paths = (["intra-node", "inter-node"] as const).map((k) => `${k} ${dataPathOf(world.subgroup(k))}`);
  return `${world.size} rank(s) on ${nodes} node(s); world ${dataPathOf(world)}, ${paths.join(", ")}`;
}
