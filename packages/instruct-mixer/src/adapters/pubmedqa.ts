import { SourceFormatError } from "../errors.js";
import type { AdapterOptions, AdapterResult } from "../record.js";
import { isObject, RecordCollector, readJsonObjectInFileOrder, requireText } from "../source-file.js";
import { fillTemplate, formatChoiceAnswer, formatOptions, RECORD_TEMPLATES } from "../templates.js";

export interface PubMedQAOptions extends AdapterOptions {
  /** Append LONG_ANSWER (the abstract's conclusion) after the decision. Off, as in the seed. */
  withLongAnswer?: boolean;
}

/** PubMedQA's decisions as a fixed option list, so the answer has the `(X) text` shape. */
export const PUBMEDQA_OPTIONS = [
  ["A", "yes"],
  ["B", "no"],
  ["C", "maybe"],
] as const;

/**
 * PubMedQA (ori_pqal.json, ori_pqaa.json = pqa_artificial, ori_pqau.json): one JSON object
 * keyed by PMID, each value with QUESTION, CONTEXTS[], final_decision (yes/no/maybe; absent in
 * the unlabelled set, which is therefore all malformed here) and LONG_ANSWER. pqa_artificial
 * lacks the reasoning_* fields, which are not read. The seed's stratum name is "pubmedqa/train".
 *
 * The seed listed no options in its PubMedQA prompt yet trained on "(A) yes"; here the options
 * are shown, so the answer letter refers to something the model has read.
 */
export function loadPubMedQA(file: string, opts: PubMedQAOptions = {}): AdapterResult {
  const source = opts.name ?? "pubmedqa/train";
  const parsed = readJsonObjectInFileOrder(file);
  if (!parsed) throw new SourceFormatError(file, "expected a JSON object keyed by PMID");
  const out = new RecordCollector(file, opts.strict ?? false);
  for (const [index, pmid] of parsed.keys.entries()) {
    const r = parsed.doc[pmid];
    if (!isObject(r)) {
      out.reject(index, "record is not a JSON object", pmid);
      continue;
    }
    const question = requireText(r, "QUESTION");
    if (typeof question !== "string") {
      out.reject(index, question.reason, pmid);
      continue;
    }
    const contexts = r.CONTEXTS;
    if (
      !Array.isArray(contexts) ||
      contexts.length === 0 ||
      contexts.some((c) => typeof c !== "string" || c.trim() === "")
    ) {
      out.reject(index, `field "CONTEXTS" must be a non-empty array of non-empty strings`, pmid);
      continue;
    }
    const decision = typeof r.final_decision === "string" ? r.final_decision.trim().toLowerCase() : undefined;
    const option = PUBMEDQA_OPTIONS.find(([, text]) => text === decision);
    if (!option) {
      out.reject(
        index,
        `field "final_decision" (${JSON.stringify(r.final_decision)}) is not yes/no/maybe`,
        pmid,
      );
      continue;
    }
    let output = formatChoiceAnswer(option[0], option[1]);
    if (opts.withLongAnswer) {
      const long = requireText(r, "LONG_ANSWER");
      if (typeof long !== "string") {
        out.reject(index, long.reason, pmid);
        continue;
      }
      output += `\n\n${long}`;
    }
    const t = RECORD_TEMPLATES.pubmedqa;
    out.add({
      source,
      template: "qa",
      instruction: t.instruction,
      input: `${fillTemplate(t.input, {
        abstract: contexts.map((c: string) => c.trim()).join("\n"),
        question,
      })}\n\n### Options:\n${formatOptions(PUBMEDQA_OPTIONS)}`,
      output,
    });
  }
  return out.result();
}
