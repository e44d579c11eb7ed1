// -100, the label the loss skips: llama-model owns it (its loss gives the value its meaning, as HF's
// CrossEntropyLoss ignore_index does).
import { IGNORE_INDEX } from "@biomed-llama/llama-model";
import type { SequenceSource, TrainingSequence } from "@biomed-llama/tokenizer";
import type { McqaSample } from "./mcqa-readers.js";

/** The tokenizer surface fine-tuning needs (LlamaTokenizer satisfies it). */
export interface PromptTokenizer {
  encode(text: string, opts?: { bos?: boolean; eos?: boolean }): number[];
  eosId: number;
  padId: number;
}

/** What the trainer reads: the tokenizer package's sequence types (one definition). */
export type { SequenceSource, TrainingSequence } from "@biomed-llama/tokenizer";

/** A prompt whose tokens carry no loss and the completion the model learns (EOS is appended). */
export interface PromptCompletion {
  prompt: string;
  completion: string;
}

/**
 * The seed's fine-tuning prompt (BioMed-LLaMA `MCQADataset`):
 *
 *     ### Context: {abstract}\n          (PubMedQA only)
 *     ### Question: {question}\n
 *     ### Options: (A) {opt} (B) {opt} ...\n
 *     ### Answer:
 *
 * completion ` {answer text}` followed by EOS.
 */
export function mcqaPromptCompletion(s: McqaSample): PromptCompletion {
  let prompt = "";
  if (s.context) prompt += `### Context: ${s.context}\n`;
  prompt += `### Question: ${s.question}\n`;
  prompt += `### Options: ${s.options.map((o, i) => `(${String.fromCharCode(65 + i)}) ${o}`).join(" ")}\n`;
  prompt += "### Answer:";
  return { prompt, completion: ` ${s.options[s.answerIndex]}` };
}

/**
 * Tokenizes as the seed does: ids = BOS + encode(prompt + completion) + EOS, and the first
 * |BOS + encode(prompt)| positions get label -100, so the loss covers the answer and EOS only.
 * (Tokenizing the prompt alone for its length, as the seed does, keeps the boundary identical even
 * where SentencePiece would merge across it.) Cut at seqLen like the seed's truncation; returns
 * null when nothing of the completion survives the cut.
 */
export function tokenizePromptCompletion(
  tok: PromptTokenizer,
  ex: PromptCompletion,
  seqLen: number,
): TrainingSequence | null {
  const full = tok.encode(ex.prompt + ex.completion, { bos: true });
  full.push(tok.eosId);
  const promptLen = tok.encode(ex.prompt, { bos: true }).length;
  const n = Math.min(full.length, seqLen);
  if (promptLen >= n) return null;
  const inputIds = new Int32Array(n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    inputIds[i] = full[i];
    labels[i] = i < promptLen ? IGNORE_INDEX : full[i];
  }
  return { inputIds, labels };
}

/**
 * Fixed-length sequences (padded with padId, label -100) from prompt/completion examples, so they
 * batch like pretraining blocks. Examples whose completion is cut away entirely are dropped and
 * counted in `dropped`.
 */
export function supervisedSequences(
  tok: PromptTokenizer,
  examples: PromptCompletion[],
  seqLen: number,
): SequenceSource & { dropped: number } {
  const pad = Math.max(tok.padId, 0);
  const seqs: TrainingSequence[] = [];
  let dropped = 0;
  for (const ex of examples) {
    const t = tokenizePromptCompletion(tok, ex, seqLen);
    if (!t) {
      dropped++;
      continue;
    }
    const inputIds = new Int32Array(seqLen).fill(pad);
    const labels = new Int32Array(seqLen).fill(IGNORE_INDEX);
    inputIds.set(t.inputIds);
    labels.set(t.labels);
    seqs.push({ inputIds, labels });
  }
  const tokenRange = () => {
    let min = 0;
    let max = -1;
    for (const s of seqs)
      for (const id of s.inputIds) {
        if (id > max) max = id;
        if (id < min) min = id;
      }
    return { min, max };
  };
  return { numSequences: seqs.length, get: (i) => seqs[i], dropped, tokenRange };
}

/**
 * Columns after the last labelled position of a micro-batch cannot change its loss (attention is
 * causal and labels are shifted inside the model), so they are cut before the forward pass.
 * Padding-heavy fine-tuning batches get much cheaper; packed pretraining blocks are unchanged.
 */
export function trimToLastLabel(batch: TrainingSequence[]): TrainingSequence[] {
  let last = 1;
  for (const s of batch)
    for (let i = s.labels.length - 1; i >= last; i--)
      if (s.labels[i] !== IGNORE_INDEX) {
        last = i;
        break;
      }
  const n = last + 1;
  if (batch.every((s) => s.inputIds.length === n)) return batch;
  return batch.map((s) => ({ inputIds: s.inputIds.subarray(0, n), labels: s.labels.subarray(0, n) }));
}
