// Runs one local job of `nproc` ranks through fsdp-sharding's launcher and returns what they printed;
// shared by the benches that measure several ranks (fsdp-allreduce, fsdp-memory, trainer-memory).
import { Writable } from "node:stream";
// bench/ is not a workspace dependent of the package, so it loads the built entry by path.
import { launchJob } from "../packages/fsdp-sharding/dist/index.js";

/** Stdout and stderr of all ranks (prefixed "[rank r]" by the launcher); throws, with it, if a rank failed. */
export async function launchRanks(opts: {
  nproc: number;
  command: string[];
  env?: Record<string, string | undefined>;
  what: string;
}): Promise<string> {
  let out = "";
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += chunk;
      cb();
    },
  });
  const res = await launchJob({
    nprocPerNode: opts.nproc,
    command: opts.command,
    env: opts.env,
    stdout: sink,
    stderr: sink,
  });
  if (res.code !== 0) throw new Error(`${opts.what} failed: rank ${res.failedRank} ${res.reason}\n${out}`);
  return out;
}

/** The JSON a rank printed after "RESULT " (the first such line). */
export function resultLine<T>(output: string): T {
  const line = output.split("\n").find((l) => l.includes("RESULT "));
  if (!line) throw new Error(`no RESULT line in:\n${output}`);
  return JSON.parse(line.slice(line.indexOf("RESULT ") + 7)) as T;
}
