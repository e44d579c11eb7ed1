import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Writes a bench's JSON to bench/results/<name>.json atomically (temp file, then rename); returns the path. */
export function writeResult(name: string, value: unknown): string {
  const file = join(dirname(fileURLToPath(import.meta.url)), "results", `${name}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}
