export const PACKAGE_NAME = "@biomed-llama/tokenizer";
export { IndexedDatasetError, TokenizerModelError } from "./errors.js";
export { defaultTokenizerModelPath, type EncodeOptions, LlamaTokenizer } from "./llama-tokenizer.js";
export type { ModelPiece, PieceType } from "./model-proto.js";
