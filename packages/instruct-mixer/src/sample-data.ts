import { fileURLToPath } from "node:url";

/**
 * Folder of the small upstream-format samples shipped with the package (data/samples) — real
 * MedQA / MedMCQA / PubMedQA / MMLU-CoT records with their MIT licenses, and hand-written
 * Alpaca-style and exemplar files — so the mixer can be tried without downloading anything.
 */
export function sampleDataDir(): string {
  return fileURLToPath(new URL("../data/samples", import.meta.url));
}

/** data/mix-sample.json: the seed's weights over the bundled samples. */
export function sampleMixConfigPath(): string {
  return fileURLToPath(new URL("../data/mix-sample.json", import.meta.url));
}
