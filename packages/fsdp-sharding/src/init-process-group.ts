import { DistributedError } from "./errors.js";
import { rankInfoFromEnv } from "./rank-env.js";
import { SoloGroup } from "./solo-group.js";
import type { ProcessGroup } from "./types.js";

export interface InitProcessGroupOptions {
  /** Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Per-collective timeout (default 300 s, or BIOMED_LLAMA_TIMEOUT_MS). */
  timeoutMs?: number;
}

export async function initProcessGroup(opts: InitProcessGroupOptions = {}): Promise<ProcessGroup> {
  const info = rankInfoFromEnv(opts.env ?? process.env);
  if (info.worldSize === 1) return new SoloGroup(0, 0, 1, 0);
  throw new DistributedError("multi-rank process groups: work in progress");
}
