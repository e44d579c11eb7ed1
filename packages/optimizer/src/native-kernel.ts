import { createRequire } from "node:module";

/** The native AdamW loop of @biomed-llama/native-backend (same arithmetic as adamw.ts's JS loop). */
export type NativeAdamW = import("@biomed-llama/native-backend").NativeBinding["adamw"];

let loaded: NativeAdamW | null | undefined;

/**
 * The native AdamW kernel when @biomed-llama/native-backend is installed and its addon loads, else
 * null (the JS loop runs; results are bit-identical either way). BIOMED_LLAMA_NATIVE_ADAMW=0 turns it
 * off. Loaded once, synchronously, on the first optimizer step.
 */
export function nativeAdamW(): NativeAdamW | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.env.BIOMED_LLAMA_NATIVE_ADAMW === "0") return loaded;
  try {
    const req = createRequire(import.meta.url);
    const mod = req("@biomed-llama/native-backend") as typeof import("@biomed-llama/native-backend");
    const binding = mod.tryLoadNativeBinding().binding;
    loaded = binding ? binding.adamw.bind(binding) : null;
  } catch {
    loaded = null;
  }
  return loaded;
}

/** Test hook: forget the cached choice (so an env change takes effect). */
export function resetNativeAdamW(): void {
  loaded = undefined;
}

/** Which AdamW loop large shards run on in this process: "native" (the addon) or "js". */
export function adamwKernel(): "native" | "js" {
  return nativeAdamW() ? "native" : "js";
}
