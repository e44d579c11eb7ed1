export const PACKAGE_NAME = "@biomed-llama/instruct-mixer";

export { InstructMixerError, MixConfigError, SourceFormatError } from "./errors.js";
export { type FormattedPrompt, formatPrompt } from "./format-prompt.js";
export type { AdapterOptions, AdapterResult, InstructRecord, MalformedRecord } from "./record.js";
export {
  fillTemplate,
  formatChoiceAnswer,
  formatOptions,
  PROMPT_TEMPLATES,
  type PromptTemplate,
  RECORD_TEMPLATES,
  type TemplateName,
} from "./templates.js";
