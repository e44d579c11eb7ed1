export const PACKAGE_NAME = "@biomed-llama/tokenizer";
export { IndexedDatasetError, TokenizerModelError } from "./errors.js";
export {
  DTYPE_CODES,
  encodeIndex,
  IndexedDataset,
  IndexedDatasetWriter,
  MMIDIDX_MAGIC,
  optimalTokenDtype,
  type TokenDtype,
} from "./indexed-dataset.js";
export {
  defaultTokenizerModelPath,
  type EncodeOptions,
  LlamaTokenizer,
  /** The name for the same class: `Tokenizer.fromFile(path)`, `Tokenizer.llama()`. */
  LlamaTokenizer as Tokenizer,
  type LoadOptions,
  type TokenizerEngine,
} from "./llama-tokenizer.js";
export type { ModelPiece, PieceType } from "./model-proto.js";
export { type TokenizeDocumentsOptions, tokenizeDocuments } from "./parallel-tokenize.js";
export {
  type DocumentSource,
  documentOrder,
  IGNORE_INDEX,
  type PackOptions,
  packSequences,
  type SequenceSource,
  type TrainingSequence,
  type TruncateOptions,
  truncateSequences,
} from "./training-sequences.js";
