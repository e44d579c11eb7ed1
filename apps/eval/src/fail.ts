/** Every command ends a failure the same way: one line naming what was wrong, exit code 1. */
export function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`biomed-eval: ${message.split("\n")[0]}\n`);
  if (process.env.BIOMED_LLAMA_DEBUG && err instanceof Error && err.stack)
    process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

/** Commander option parsers that reject bad numbers with a one-line reason. */
export function intOption(name: string, min = 0) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) fail(new Error(`${name} must be an integer >= ${min}, got "${v}"`));
    return n;
  };
}

export function limitOption(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (n >= 1 && !Number.isInteger(n)))
    fail(new Error(`--limit must be a positive integer or a fraction in (0, 1), got "${v}"`));
  return n;
}
