/**
 * Prompt templates are data: a template turns {instruction, input, output} into the
 * prompt the model reads and the completion it is trained on.
 *
 * Every prompt ends with a newline and no completion starts with whitespace. LLaMA's
 * SentencePiece has no piece that spans "\n" (it is the byte token <0x0A>), so the tokens of
 * `prompt` are exactly a prefix of the tokens of `prompt + completion`; a trainer can mask the
 * first encode(prompt).length tokens without an off-by-one at the boundary.
 */
export interface PromptTemplate {
  /** Used when the record has a non-empty input. Placeholders: {instruction}, {input}. */
  prompt: string;
  /** Used when the input is empty. Placeholder: {instruction}. */
  promptNoInput: string;
  /** Placeholder: {output}. The trainer appends EOS after it. */
  completion: string;
}

export const PROMPT_TEMPLATES = {
  /** Stanford Alpaca's prompt, used for AlpacaDataCleaned and visual-med-alpaca. */
  alpaca: {
    prompt:
      "Below is an instruction that describes a task, paired with an input that provides further context. " +
      "Write a response that appropriately completes the request.\n\n" +
      "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n",
    promptNoInput:
      "Below is an instruction that describes a task. " +
      "Write a response that appropriately completes the request.\n\n" +
      "### Instruction:\n{instruction}\n\n### Response:\n",
    completion: "{output}",
  },
  /**
   * The BioMed-LLaMA layout for QA: instruction paragraph, "### ..." sections, "### Answer:".
   * The seed ended the prompt with "### Answer:(" and then also began the target with "(",
   * doubling the parenthesis; here the answer line is left whole to the completion.
   */
  qa: {
    prompt: "{instruction}\n\n{input}\n\n### Answer:\n",
    promptNoInput: "{instruction}\n\n### Answer:\n",
    completion: "{output}",
  },
} as const satisfies Record<string, PromptTemplate>;

export type TemplateName = keyof typeof PROMPT_TEMPLATES;

/**
 * The seed's task instructions and input layouts, per record kind. Adapters fill these; the
 * prompt template above wraps the result.
 */
export const RECORD_TEMPLATES = {
  multipleChoice: {
    instruction:
      "The following is a multiple-choice question (with options) about medical knowledge. " +
      "Please select the most appropriate one from the following answer candidates as the final answer.",
    input: "### Question: {question}\n\n### Options:\n{options}",
  },
  pubmedqa: {
    instruction:
      "The following is a medical question paired with an abstract from PubMed. " +
      "Please answer Yes / No / Maybe to the question given the scientific evidence as the final answer.",
    input: "### Abstract: {abstract}\n\n### Question: {question}",
  },
  /** Chain-of-thought sets: same layouts, but the answer is preceded by the reasoning. */
  chainOfThought: {
    instructionSuffix: " Think step by step before giving the final answer.",
  },
  /** Free-text consumer questions (Med-PaLM's LiveQA / MedicationQA exemplars). */
  openQuestion: {
    instruction:
      "The following is a consumer medical question. Please give a helpful, accurate and complete answer.",
    input: "### Question: {question}",
  },
} as const;

/** Replace {name} placeholders; a placeholder without a value is a programming error. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`template placeholder ${whole} has no value`);
    return value;
  });
}

/** `(A) first\n(B) second …` — the seed's option layout. */
export function formatOptions(options: ReadonlyArray<readonly [string, string]>): string {
  return options.map(([letter, text]) => `(${letter}) ${text}`).join("\n");
}

/** `(X) text` — the seed's answer layout for multiple choice. */
export function formatChoiceAnswer(letter: string, text: string): string {
  return `(${letter}) ${text}`;
}
