import * as zstdNs from "zstd-napi/binding.js";

// zstd-napi's low-level binding is a CommonJS native module: under Node's ESM loader its exports
// sit on `default`, under require() they are the namespace itself.
export const zstd = ((zstdNs as any).default ?? zstdNs) as typeof zstdNs;

/** zstd's largest window (2 GiB, `zstd --long=31`); libzstd's decoder default stops at 128 MiB. */
export const MAX_WINDOW_LOG = 31;
