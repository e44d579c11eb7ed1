import * as fs from "node:fs";
import * as path from "node:path";
import { type FileDigest, verifyDigests } from "@biomed-llama/safe-files";

/**
 * A checkpoint written by biomed-llama's trainer (`RUN/checkpoints/step-N/`) carries `manifest.json`
 * with the size and sha256 of each of its files. Before any weight is read, the files a model load
 * uses — those at the top of the directory (config, safetensors, index, tokenizer), not the optimizer
 * state under train_state/ — must match it: a damaged file is refused naming it, instead of evaluating
 * or generating from corrupt weights. Directories without such a manifest (a Hugging Face download)
 * are taken as they are. Returns the first problem as one line naming the file, or null.
 */
export function checkpointDigestProblem(dir: string): string | null {
  const file = path.join(dir, "manifest.json");
  if (!fs.existsSync(file)) return null;
  let files: unknown;
  try {
    files = (JSON.parse(fs.readFileSync(file, "utf8")) as { files?: unknown }).files;
  } catch (e) {
    return `${file}: not valid JSON (${(e as Error).message})`;
  }
  if (!Array.isArray(files)) return null;
  const top = (files as FileDigest[]).filter((f) => typeof f.path === "string" && !f.path.includes("/"));
  const problem = verifyDigests(dir, top);
  return problem && `${problem} (checked against ${file})`;
}
