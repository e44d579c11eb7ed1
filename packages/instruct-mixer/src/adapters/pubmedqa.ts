import {
  checkPubmedqa,
  optionLetter,
  PUBMEDQA_LABELS,
  type PubmedqaLabel,
  type PubmedqaRules,
  pubmedqaContext,
  pubmedqaGold,
} from "@biomed-llama/medical-qa";
import { SourceFormatError } from "../errors.js";
import type { AdapterOptions, AdapterResult } from "../record.js";
import { RecordCollector, readJsonObjectInFileOrder, requireText } from "../source-file.js";
import { fillTemplate, formatChoiceAnswer, formatOptions, RECORD_TEMPLATES } from "../templates.js";

export interface PubMedQAOptions extends AdapterOptions {
  /** Append LONG_ANSWER (the abstract's conclusion) after the decision. Off, as in the seed. */
  withLongAnswer?: boolean;
}

/** PubMedQA's decisions as a fixed option list, so the answer has the `(X) text` shape. */
export const PUBMEDQA_OPTIONS: ReadonlyArray<readonly [string, PubmedqaLabel]> = PUBMEDQA_LABELS.map(
  (label, i) => [optionLetter(i), label] as const,
);

/** Non-blank QUESTION and CONTEXTS paragraphs (one or more); the decision in any case ("Maybe"). */
const RULES: PubmedqaRules = { nonBlank: true, anyCaseDecision: true };

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
  const t = RECORD_TEMPLATES.pubmedqa;
  for (const [index, pmid] of parsed.keys.entries()) {
    const c = checkPubmedqa(pmid, parsed.doc[pmid], RULES);
    if (!c.ok) {
      out.reject(index, c.reason, pmid);
      continue;
    }
    const r = c.record;
    let output = formatChoiceAnswer(...PUBMEDQA_OPTIONS[pubmedqaGold(r)]);
    if (opts.withLongAnswer) {
      const long = requireText(r, "LONG_ANSWER");
      if (typeof long !== "string") {
        out.reject(index, long.reason, pmid);
        continue;
      }
      output += `\n\n${long}`;
    }
    out.add({
      source,
      template: "qa",
      instruction: t.instruction,
      input: `${fillTemplate(t.input, {
        abstract: pubmedqaContext(r.CONTEXTS.map((p) => p.trim())),
        question: r.QUESTION.trim(),
      })}\n\n### Options:\n${formatOptions(PUBMEDQA_OPTIONS)}`,
      output,
    });
  }
  return out.result();
}
