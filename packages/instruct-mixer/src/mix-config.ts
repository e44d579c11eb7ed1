import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ADAPTERS, type AdapterConfigOptions, type AdapterName, isAdapterName } from "./adapters/registry.js";
import { MixConfigError } from "./errors.js";

/** One entry of mix.json `sources`. */
export interface MixSourceConfig {
  /** Stratum / table name; defaults to the adapter's seed name (e.g. "usmleqa/train"). */
  name?: string;
  adapter: AdapterName;
  /** Source file; relative paths resolve against the config file's folder. */
  path: string;
  /** Multiplier on the sample count (the seed's n_epoch_per_source). Default 1. */
  weight?: number;
  /** Per-subset weights for sources whose records carry "<subset>/<name>" (exemplar sets). */
  subsetWeights?: Record<string, number>;
  /** Explicit share of all draws (then every source needs one); overrides count × weight across sources. */
  proportion?: number;
  /** Passed to the adapter (withExplanation, withLongAnswer, subjects, strict). */
  options?: Omit<AdapterConfigOptions, "name">;
}

export interface MixConfig {
  sources: MixSourceConfig[];
  /** Number of draws with replacement (the seed: 150000). */
  draws?: number;
  seed?: number;
  dedup?: boolean;
  /** Any malformed record aborts the mix. */
  strict?: boolean;
}

const SOURCE_KEYS = new Set(["name", "adapter", "path", "weight", "subsetWeights", "proportion", "options"]);
const TOP_KEYS = new Set(["$comment", "sources", "draws", "seed", "dedup", "strict"]);

/** Read and validate mix.json; paths come back absolute. */
export function loadMixConfig(file: string): MixConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new MixConfigError(file, code === "ENOENT" ? "file not found" : `cannot read (${code})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new MixConfigError(file, `not valid JSON (${(err as Error).message})`);
  }
  return validateMixConfig(raw, file, dirname(resolve(file)));
}

/** Validate a config object (e.g. built in code); `baseDir` resolves relative paths. */
export function validateMixConfig(raw: unknown, where = "mix config", baseDir = process.cwd()): MixConfig {
  const fail = (detail: string): never => {
    throw new MixConfigError(where, detail);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("expected a JSON object");
  const obj = raw as Record<string, unknown>;
  for (const k of Object.keys(obj)) if (!TOP_KEYS.has(k)) fail(`unknown field "${k}"`);
  if (!Array.isArray(obj.sources) || obj.sources.length === 0) fail(`"sources" must be a non-empty array`);
  const checkNumber = (v: unknown, field: string, integer = false) => {
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v)))
      fail(`"${field}" must be a ${integer ? "whole " : ""}number >= 0`);
  };
  checkNumber(obj.draws, "draws", true);
  checkNumber(obj.seed, "seed", true);
  for (const f of ["dedup", "strict"] as const)
    if (obj[f] !== undefined && typeof obj[f] !== "boolean") fail(`"${f}" must be true or false`);
  const names = new Set<string>();
  const sources = (obj.sources as unknown[]).map((s, i): MixSourceConfig => {
    const at = `sources[${i}]`;
    if (typeof s !== "object" || s === null || Array.isArray(s)) fail(`${at} must be an object`);
    const src = s as Record<string, unknown>;
    for (const k of Object.keys(src)) if (!SOURCE_KEYS.has(k)) fail(`${at}: unknown field "${k}"`);
    if (typeof src.adapter !== "string" || !isAdapterName(src.adapter))
      fail(
        `${at}.adapter must be one of ${Object.keys(ADAPTERS).join(", ")} (got ${JSON.stringify(src.adapter)})`,
      );
    if (typeof src.path !== "string" || src.path === "") fail(`${at}.path must be a file path`);
    if (src.name !== undefined && (typeof src.name !== "string" || src.name === ""))
      fail(`${at}.name must be a non-empty string`);
    checkNumber(src.weight, `${at}.weight`);
    checkNumber(src.proportion, `${at}.proportion`);
    if (src.subsetWeights !== undefined) {
      if (
        typeof src.subsetWeights !== "object" ||
        src.subsetWeights === null ||
        Array.isArray(src.subsetWeights)
      )
        fail(`${at}.subsetWeights must map subset names to weights`);
      for (const [k, v] of Object.entries(src.subsetWeights as object))
        checkNumber(v, `${at}.subsetWeights.${k}`);
    }
    if (src.options !== undefined && (typeof src.options !== "object" || src.options === null))
      fail(`${at}.options must be an object`);
    const name = src.name as string | undefined;
    const key = name ?? `${src.adapter}:${src.path}`;
    if (names.has(key)) fail(`${at}: source "${key}" appears twice`);
    names.add(key);
    return {
      ...(src as unknown as MixSourceConfig),
      path: resolve(baseDir, src.path as string),
    };
  });
  const withProportion = sources.filter((s) => s.proportion !== undefined).length;
  if (withProportion > 0 && withProportion < sources.length)
    fail(`either every source has a "proportion" or none does`);
  return {
    sources,
    ...(obj.draws !== undefined ? { draws: obj.draws as number } : {}),
    ...(obj.seed !== undefined ? { seed: obj.seed as number } : {}),
    ...(obj.dedup !== undefined ? { dedup: obj.dedup as boolean } : {}),
    ...(obj.strict !== undefined ? { strict: obj.strict as boolean } : {}),
  };
}
