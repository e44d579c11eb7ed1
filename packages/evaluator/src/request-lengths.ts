import { RequestError } from "./errors.js";
import type { PreparedTask } from "./evaluate.js";
import type { LM } from "./lm.js";
import { encodeRequests } from "./loglikelihood.js";

export interface RequestLengthOptions {
  addBos?: boolean;
  /**
   * The flag the max length came from when the user chose it (`"--max-length"`): a request it cannot
   * hold whole is then an error. Absent (the model's own max_position_embeddings), such requests are
   * scored with their prompt cut from the left, as lm-eval does, and reported in the warnings.
   */
  maxLengthFlag?: string;
  /** The model's max_position_embeddings, for the advice in the error. */
  maxPositions?: number;
}

/**
 * Measures every multiple-choice request of `prepared` against `lm.maxLength` before any scoring
 * (with a tokenizer only: `prepareLlamaLM` gives one before the weights are read). An answer longer
 * than the max length can never be scored: RequestError. A prompt + answer longer than a max length
 * the user chose: RequestError naming the flag and the length needed. Longer than the model's own
 * positions: a warning per task (returned). Perplexity tasks fit any max length (rolling windows).
 */
export function checkRequestLengths(
  lm: Pick<LM, "encode" | "bosId" | "eosId" | "maxLength">,
  prepared: readonly PreparedTask[],
  opts: RequestLengthOptions = {},
): string[] {
  const L = lm.maxLength;
  const warnings: string[] = [];
  for (const p of prepared) {
    if (p.kind !== "mc") continue;
    const reqs = p.contexts.flatMap((context, i) =>
      p.choices[i].map((c) => ({ context, continuation: p.task.targetDelimiter + c })),
    );
    let longest = 0;
    let longestAnswer = 0;
    let cut = 0;
    for (const r of encodeRequests(lm, reqs, { addBos: opts.addBos })) {
      // The model reads (context + continuation) minus its last token.
      const input = r.contextEnc.length + r.continuationEnc.length - 1;
      longest = Math.max(longest, input);
      longestAnswer = Math.max(longestAnswer, r.continuationEnc.length);
      if (input > L) cut++;
    }
    const flag = opts.maxLengthFlag ? `${opts.maxLengthFlag} ${L}` : `max length ${L}`;
    if (longestAnswer > L)
      throw new RequestError(
        `${flag} cannot hold task ${p.task.name}: an answer is ${longestAnswer} tokens long; pass a larger ${opts.maxLengthFlag ?? "max length"}`,
      );
    if (cut === 0) continue;
    if (opts.maxLengthFlag) {
      const room = opts.maxPositions;
      const advice =
        room === undefined || longest <= room
          ? `pass ${opts.maxLengthFlag} ${longest} or more, or leave it out`
          : `leave ${opts.maxLengthFlag} out to use all ${room} positions of the model (longer prompts are then cut from the left, as lm-eval does)`;
      throw new RequestError(
        `${flag} is too small for task ${p.task.name}: ${cut} of ${reqs.length} requests (prompt + answer) are longer, up to ${longest} tokens; ${advice}`,
      );
    }
    warnings.push(
      `${p.task.name}: ${cut} of ${reqs.length} requests are longer than the model's ${L} positions (up to ${longest} tokens); their prompts are cut from the left, as lm-eval does`,
    );
  }
  return warnings;
}
