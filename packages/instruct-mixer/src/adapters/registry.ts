import type { AdapterResult } from "../record.js";
import { loadAlpaca } from "./alpaca.js";
import { loadExemplars } from "./exemplars.js";
import { loadMedMCQA } from "./medmcqa.js";
import { loadMedQA } from "./medqa.js";
import { loadMmluCot } from "./mmlu-cot.js";
import { loadPubMedQA } from "./pubmedqa.js";

/** Adapter options as they appear in mix.json (`options` of a source entry). */
export type AdapterConfigOptions = {
  name?: string;
  strict?: boolean;
  withExplanation?: boolean;
  withLongAnswer?: boolean;
  subjects?: string[];
};

/** Adapters by the name a mix.json `adapter` field uses. */
export const ADAPTERS = {
  medqa: loadMedQA,
  medmcqa: loadMedMCQA,
  pubmedqa: loadPubMedQA,
  alpaca: loadAlpaca,
  "mmlu-cot": loadMmluCot,
  exemplars: loadExemplars,
} as const satisfies Record<string, (file: string, opts?: AdapterConfigOptions) => AdapterResult>;

export type AdapterName = keyof typeof ADAPTERS;

export function isAdapterName(name: string): name is AdapterName {
  return Object.hasOwn(ADAPTERS, name);
}
