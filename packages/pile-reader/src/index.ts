import pkg from "../package.json";

export {
  PileCursorError,
  PileError,
  PileInputError,
  PileJsonError,
  PileZstdError,
} from "./errors.js";
export {
  ExtractInterrupted,
  type ExtractJobOptions,
  type ExtractJobResult,
  type ExtractManifest,
  extractPile,
} from "./extract-job.js";
export { isZstdPath, type PileInputFile, resolvePileInputs } from "./inputs.js";
export type { RestartPoint } from "./line-source.js";
export {
  type PileCursor,
  type PileDocument,
  type PileMeta,
  type PileProgress,
  PileReader,
  type PileReaderOptions,
  type PileReaderState,
  PUBMED_SUBSETS,
} from "./pile-reader.js";
export { checkPileSubsets, PILE_SUBSETS, PileSubsetError } from "./pile-subsets.js";
export {
  type PileShardInfo,
  PileShardWriter,
  type PileShardWriterOptions,
  subsetSlug,
} from "./shard-writer.js";
export type { PileStats } from "./stats.js";
export { MAX_WINDOW_LOG } from "./zstd-binding.js";
export { checkZstdLevel, ZSTD_MAX_LEVEL, ZSTD_MIN_LEVEL, ZstdFileWriter } from "./zstd-file-writer.js";

/** Written into extract manifests so a shard set records which reader produced it. */
export const PILE_READER_VERSION: string = pkg.version;
