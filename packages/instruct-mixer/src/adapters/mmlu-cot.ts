import { SourceFormatError } from "../errors.js";
import type { AdapterOptions, AdapterResult } from "../record.js";
import { isObject, RecordCollector, readJsonDocument } from "../source-file.js";

export interface MmluCotOptions extends AdapterOptions {
  /** Keep only these subjects (keys of the prompt file); all 57 by default. */
  subjects?: string[];
}

const FINAL_ANSWER = /The answer is \(([A-J])\)\.?\s*$/;

/**
 * chain-of-thought-hub's MMLU/lib_prompt/mmlu-cot.json: {subject: few-shot prompt}. Each prompt
 * is a header line ("The following are multiple choice questions (with answers) about …")
 * followed by blocks "Q: question\n(A) … (D) …\nA: Let's think step by step. … The answer is (X)."
 * separated by blank lines. Each block becomes one record: the header is the instruction, the
 * question with its options the input, the reasoning and answer the output. The upstream file
 * yields 282 blocks — the seed's "mmlu-cot" count.
 *
 * Malformed blocks are indexed by their running position over the whole file (subject order),
 * with `key` = "subject#k".
 */
export function loadMmluCot(file: string, opts: MmluCotOptions = {}): AdapterResult {
  const source = opts.name ?? "mmlu-cot";
  const doc = readJsonDocument(file);
  if (!isObject(doc)) throw new SourceFormatError(file, "expected a JSON object {subject: prompt text}");
  const wanted = opts.subjects ? new Set(opts.subjects) : undefined;
  if (wanted) {
    const missing = [...wanted].filter((s) => !(s in doc));
    if (missing.length)
      throw new SourceFormatError(file, `no subject ${missing.map((s) => `"${s}"`).join(", ")}`);
  }
  const out = new RecordCollector(file, opts.strict ?? false);
  let index = -1;
  for (const [subject, text] of Object.entries(doc)) {
    if (typeof text !== "string") {
      out.reject(index + 1, `subject "${subject}" is not a prompt string`, subject);
      continue;
    }
    // A leading "\n\n" lets a prompt without a header split the same way as one with it.
    const [header, ...blocks] = `\n\n${text.replace(/\r\n/g, "\n")}`.split("\n\nQ: ");
    const instruction = header.trim();
    for (const [k, block] of blocks.entries()) {
      index++;
      if (wanted && !wanted.has(subject)) continue;
      const key = `${subject}#${k}`;
      const split = block.indexOf("\nA: ");
      if (split < 0) {
        out.reject(index, `block has no "A: " answer line`, key);
        continue;
      }
      const question = block.slice(0, split).trim();
      const reasoning = block.slice(split + 4).trim();
      if (!FINAL_ANSWER.test(reasoning)) {
        out.reject(index, `answer does not end with "The answer is (X)."`, key);
        continue;
      }
      if (instruction === "") {
        out.reject(index, "subject has no header line", key);
        continue;
      }
      out.add({ source, template: "qa", instruction, input: `Q: ${question}`, output: reasoning });
    }
  }
  return out.result();
}
