/** Every command ends a failure the same way: one line naming what was wrong, exit code 1. */
export function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`biomed-llama: ${message.split("\n")[0]}\n`);
  if (process.env.BIOMED_LLAMA_DEBUG && err instanceof Error && err.stack)
    process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}
