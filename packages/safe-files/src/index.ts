export { type AtomicDirOptions, makeParents, publish, writeDirAtomic } from "./atomic-dir.js";
export { tempPathFor, writeFileAtomic } from "./atomic-file.js";
export { digestFile, digestTree, type FileDigest, verifyDigests, verifyManifest } from "./checksums.js";
export { ioError, withPath } from "./io-error.js";
export { filterJsonl, JsonlAppender, readJsonl, repairJsonlTail, type Warn } from "./jsonl.js";
export { checkOutput, OutputError, type OutputSpec, type OutputState } from "./output-guard.js";
export { LOCK_FILE, type LockOwner, RunLock, RunLockedError } from "./run-lock.js";
