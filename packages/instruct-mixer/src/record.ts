import type { TemplateName } from "./templates.js";

/**
 * One instruction-tuning example, the unit every adapter yields and the mixer samples.
 * `source` is the mixing stratum (the seed's key, e.g. "usmleqa/train", "pubmedqa/medpalm-cot").
 */
export interface InstructRecord {
  source: string;
  instruction: string;
  input: string;
  output: string;
  /** Which prompt template renders this record; "alpaca" when absent. */
  template?: TemplateName;
}

/** A record an adapter skipped, with enough to find it in the upstream file. */
export interface MalformedRecord {
  file: string;
  /** Position in the file: line number - 1 for JSONL, array index, or key order in the file for PubMedQA. */
  index: number;
  /** The record's own id where the format has one (PMID, MedMCQA id). */
  key?: string;
  reason: string;
}

export interface AdapterResult {
  records: InstructRecord[];
  malformed: MalformedRecord[];
}

export interface AdapterOptions {
  /** Stratum name written into `record.source`; each adapter has the seed's default. */
  name?: string;
  /** Throw on the first malformed record instead of skipping and counting it. */
  strict?: boolean;
}
