export {
  BLAS_INSTALL_HINT,
  type BlasBinding,
  type BlasLibraryInfo,
  BlasUnavailableError,
  defaultNativePath,
  isBlasAddonBuilt,
  loadBlasBinding,
} from "./load-binding.js";
export { blasInfo, blasThreads, type SgemmOptions, setBlasThreads, sgemm } from "./sgemm.js";
