export {
  defaultNativePath,
  isShmAddonBuilt,
  loadShmBinding,
  SHM_INSTALL_HINT,
  type ShmBinding,
  ShmUnavailableError,
} from "./load-binding.js";
export { addressOf, readRemote, reduceRemote } from "./remote-memory.js";
export { type MapSharedFileOptions, mapSharedFile } from "./shared-file.js";
export { SharedInt32 } from "./shared-int32.js";
