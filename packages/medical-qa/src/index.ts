export {
  type Checked,
  type CheckedLine,
  checkJsonLines,
  type Rejection,
  type TextRules,
} from "./check.js";
export {
  isJsonObject,
  type JsonLine,
  type JsonObjectEntries,
  parseJsonLines,
  parseJsonObjectEntries,
} from "./json-text.js";
export { optionLetter, optionLetters } from "./letters.js";
export {
  checkMedmcqa,
  MEDMCQA_OPTION_FIELDS,
  type MedmcqaRecord,
  medmcqaGold,
  medmcqaId,
  medmcqaOptions,
} from "./medmcqa.js";
export {
  checkMedqa,
  MEDQA4_LETTERS,
  MEDQA5_LETTERS,
  type MedqaRecord,
  type MedqaRules,
  medqaGold,
  medqaLetters,
} from "./medqa.js";
export {
  checkPubmedqa,
  checkPubmedqaQuestion,
  PUBMEDQA_LABELS,
  type PubmedqaLabel,
  type PubmedqaQuestion,
  type PubmedqaRecord,
  type PubmedqaRules,
  pubmedqaContext,
  pubmedqaGold,
  pubmedqaLabel,
} from "./pubmedqa.js";
