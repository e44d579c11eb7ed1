import { existsSync, readFileSync } from "node:fs";
import { formatPrompt, type InstructRecord } from "@biomed-llama/instruct-mixer";
import { IndexedDataset, packSequences, truncateSequences } from "@biomed-llama/tokenizer";
import { DataFormatError } from "./errors.js";
import { type McqaTask, readMcqa } from "./mcqa-readers.js";
import {
  mcqaPromptCompletion,
  type PromptCompletion,
  type PromptTokenizer,
  type SequenceSource,
  supervisedSequences,
} from "./supervised-sequences.js";

/**
 * Pretraining sequences from a Megatron indexed dataset (`PREFIX.idx` + `PREFIX.bin`): `pack`
 * concatenates documents with EOS and cuts seq_len blocks, `truncate` keeps one document per
 * sequence. Document order stays the file's; the trainer's BatchPlan does the shuffling.
 */
export function openPretrainSequences(
  prefix: string,
  opts: { packing: "pack" | "truncate"; seqLen: number; eosId: number; padId: number },
): SequenceSource & { close(): void; numDocuments: number } {
  for (const ext of [".idx", ".bin"])
    if (!existsSync(prefix + ext))
      throw new DataFormatError(`${prefix}${ext}: not found (--data takes the indexed-dataset prefix)`);
  const ds = IndexedDataset.open(prefix);
  const src =
    opts.packing === "pack"
      ? packSequences(ds, { seqLen: opts.seqLen, eosId: opts.eosId })
      : truncateSequences(ds, { seqLen: opts.seqLen, padId: Math.max(opts.padId, 0), eosId: opts.eosId });
  return {
    numSequences: src.numSequences,
    get: (i) => src.get(i),
    name: `${prefix}.bin`,
    // Every document's tokens (padding and EOS are the model's own ids, checked with its config).
    tokenRange: (onProgress) => ds.tokenRange(onProgress),
    numDocuments: ds.numDocuments,
    close: () => ds.close(),
  };
}

/**
 * instruct-mixer output: JSON Lines of {source, instruction, input, output[, template]}, rendered
 * with the mixer's own formatPrompt so training sees exactly the template the mixer documents.
 */
export function readInstructMix(path: string): PromptCompletion[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new DataFormatError(`${path}: cannot read: ${(e as Error).message}`);
  }
  const out: PromptCompletion[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    let rec: InstructRecord;
    try {
      rec = JSON.parse(lines[i]);
    } catch (e) {
      throw new DataFormatError(`${path}:${i + 1}: not valid JSON: ${(e as Error).message}`);
    }
    for (const k of ["instruction", "input", "output"] as const)
      if (typeof rec?.[k] !== "string")
        throw new DataFormatError(`${path}:${i + 1}: field "${k}" must be a string`);
    try {
      out.push(formatPrompt(rec));
    } catch (e) {
      throw new DataFormatError(`${path}:${i + 1}: ${(e as Error).message}`);
    }
  }
  if (out.length === 0) throw new DataFormatError(`${path}: no records`);
  return out;
}

export type FinetuneTask = McqaTask | "instruct";

/** Prompt/completion pairs of a fine-tuning task file. */
export function finetuneExamples(task: FinetuneTask, path: string): PromptCompletion[] {
  if (task === "instruct") return readInstructMix(path);
  return readMcqa(task, path).map(mcqaPromptCompletion);
}

/** Fine-tuning sequences: prompt tokens masked with -100, loss on completion + EOS. */
export function finetuneSequences(
  task: FinetuneTask,
  path: string,
  tokenizer: PromptTokenizer,
  seqLen: number,
): SequenceSource & { dropped: number; examples: number } {
  const examples = finetuneExamples(task, path);
  const src = Object.assign(supervisedSequences(tokenizer, examples, seqLen), { name: path });
  if (src.numSequences === 0)
    throw new DataFormatError(`${path}: no example keeps any answer token within seq_len ${seqLen}`);
  return Object.assign(src, { examples: examples.length });
}
