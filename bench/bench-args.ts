// Command-line flags of the bench scripts: `--name value` pairs and bare `--switch`es.
export const argv = process.argv.slice(2);

/** The value after `--name`, or `def` when the flag is absent. */
export function arg(name: string, def: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
}
