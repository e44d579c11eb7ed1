export { MpiCommunicator, mpiAbort, mpiFinalize, mpiLibraryVersion } from "./communicator.js";
export {
  defaultNativePath,
  isMpiAddonBuilt,
  loadMpiBinding,
  MPI_INSTALL_HINT,
  type MpiBinding,
  MpiError,
  type MpiReduceOp,
  MpiUnavailableError,
} from "./load-binding.js";
