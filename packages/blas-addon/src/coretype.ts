import { readFileSync } from "node:fs";

/**
 * The OPENBLAS_CORETYPE to set before OpenBLAS loads, or null to leave its own detection alone.
 *
 * OpenBLAS picks its kernels from a table of CPU models when the library loads. Debian's 0.3.21 does
 * not know recent Intel Xeons (family 6 model 207, Emerald Rapids) and silently runs its generic
 * Prescott kernels there, several times slower than its AVX-512 ones (issue 13 measured it). From the
 * CPU's instruction-set flags we name the newest kernel set 0.3.21 has that the CPU can run: Cooperlake
 * (AVX-512 with BF16), SkylakeX (AVX-512), Haswell (AVX2 + FMA). AMD families 0x17 and 0x19 (Zen 1–4)
 * are in OpenBLAS's table and keep its own choice. Later AMD families with AVX-512 (Zen 5, family 0x1A)
 * get SkylakeX, not Cooperlake: on Zen 5 SkylakeX's sgemm kernels are the faster of the two (and both
 * beat OpenBLAS's own pick there). A user's OPENBLAS_CORETYPE always wins.
 */
export function openblasCoretypeFor(cpuinfo: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.OPENBLAS_CORETYPE !== undefined) return null;
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(cpuinfo)?.[1]?.trim() ?? "";
  const flags = new Set(field("flags").split(/\s+/));
  const vendor = field("vendor_id");
  const family = Number(field("cpu family"));
  if (vendor === "AuthenticAMD" && (family === 0x17 || family === 0x19)) return null;
  const avx512 = ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].every((f) => flags.has(f));
  if (avx512) return flags.has("avx512_bf16") && vendor !== "AuthenticAMD" ? "Cooperlake" : "SkylakeX";
  if (flags.has("avx2") && flags.has("fma")) return "Haswell";
  return null;
}

/**
 * Sets OPENBLAS_CORETYPE in this process (so the OpenBLAS this process loads next, and child
 * processes, use it) when `openblasCoretypeFor` says so. Returns what it set, or null.
 */
export function applyOpenblasCoretype(): string | null {
  let cpuinfo = "";
  try {
    cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return null;
  }
  const core = openblasCoretypeFor(cpuinfo);
  if (core) process.env.OPENBLAS_CORETYPE = core;
  return core;
}
