import type { InstructRecord } from "./record.js";
import { fillTemplate, PROMPT_TEMPLATES, type PromptTemplate } from "./templates.js";

export interface FormattedPrompt {
  /** What the model reads; its tokens get label -100. */
  prompt: string;
  /** What the model is trained to produce; the trainer appends EOS. */
  completion: string;
}

/**
 * Render a record with its template (`record.template`, default "alpaca"). The split is what
 * `biomed-llama finetune --task instruct` needs: mask the prompt, train on completion + EOS.
 */
export function formatPrompt(
  record: Pick<InstructRecord, "instruction" | "input" | "output" | "template">,
  templates: Record<string, PromptTemplate> = PROMPT_TEMPLATES,
): FormattedPrompt {
  const name = record.template ?? "alpaca";
  const template = templates[name];
  if (!template) throw new Error(`unknown prompt template "${name}"`);
  const hasInput = record.input.trim().length > 0;
  const prompt = fillTemplate(hasInput ? template.prompt : template.promptNoInput, {
    instruction: record.instruction,
    input: record.input,
  });
  return { prompt, completion: fillTemplate(template.completion, { output: record.output }) };
}
