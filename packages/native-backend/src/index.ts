export { NativeBackend } from "./backend.js";
export { FUSED_KERNELS } from "./kernels/fused.js";
export {
  defaultNativePath,
  loadNativeBinding,
  NATIVE_INSTALL_HINT,
  type NativeBinding,
  NativeUnavailableError,
  tryLoadNativeBinding,
} from "./load-binding.js";
export { NATIVE_BACKEND, nativeBackendInstance, registerNativeBackend } from "./register.js";
