export { applyOpenblasCoretype, openblasCoretypeFor } from "./coretype.js";
export {
  BLAS_INSTALL_HINT,
  type BlasBinding,
  type BlasLibraryInfo,
  BlasUnavailableError,
  defaultNativePath,
  isBlasAddonBuilt,
  loadBlasBinding,
  openblasCoretypeSet,
} from "./load-binding.js";
export { blasInfo, blasThreads, type SgemmOptions, setBlasThreads, sgemm } from "./sgemm.js";
