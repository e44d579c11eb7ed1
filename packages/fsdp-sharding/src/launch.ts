export interface LaunchOptions {
  nprocPerNode: number;
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  masterPort?: number;
  /** Program and arguments, e.g. ["node", "train.js"]. */
  command: string[];
}

/** Resolves with the exit code of the job (0 when every rank succeeded). */
export async function launch(_opts: LaunchOptions): Promise<number> {
  throw new Error("launch: work in progress");
}
