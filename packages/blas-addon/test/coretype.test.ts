import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { blasInfo, isBlasAddonBuilt, openblasCoretypeFor } from "../src/index.js";

const cpu = (vendor: string, family: number, model: number, flags: string) =>
  `processor\t: 0\nvendor_id\t: ${vendor}\ncpu family\t: ${family}\nmodel\t\t: ${model}\nflags\t\t: ${flags}\n`;
const AVX2 = "fpu sse sse2 ssse3 sse4_1 sse4_2 avx fma avx2";
const AVX512 = `${AVX2} avx512f avx512dq avx512cd avx512bw avx512vl`;

describe("openblasCoretypeFor", () => {
  test("names the newest kernel set the CPU can run when OpenBLAS 0.3.21 may not know it", () => {
    // Emerald Rapids (family 6 model 207): 0.3.21 falls back to Prescott without this.
    expect(openblasCoretypeFor(cpu("GenuineIntel", 6, 207, `${AVX512} avx512_bf16 amx_bf16`), {})).toBe(
      "Cooperlake",
    );
    expect(openblasCoretypeFor(cpu("GenuineIntel", 6, 85, AVX512), {})).toBe("SkylakeX");
    expect(openblasCoretypeFor(cpu("GenuineIntel", 6, 63, AVX2), {})).toBe("Haswell");
    // Zen 5 (family 0x1A): AVX-512 with BF16, yet SkylakeX's kernels are the faster ones there
    expect(openblasCoretypeFor(cpu("AuthenticAMD", 0x1a, 2, `${AVX512} avx512_bf16`), {})).toBe("SkylakeX");
  });

  test("leaves OpenBLAS's own choice where its table knows the CPU or no fast kernel applies", () => {
    expect(openblasCoretypeFor(cpu("AuthenticAMD", 0x19, 1, `${AVX512} avx512_bf16`), {})).toBeNull();
    expect(openblasCoretypeFor(cpu("AuthenticAMD", 0x17, 49, AVX2), {})).toBeNull();
    expect(openblasCoretypeFor(cpu("GenuineIntel", 6, 23, "fpu sse sse2 ssse3"), {})).toBeNull();
  });

  test("a user's OPENBLAS_CORETYPE always wins, even an empty one", () => {
    const info = cpu("GenuineIntel", 6, 207, AVX512);
    expect(openblasCoretypeFor(info, { OPENBLAS_CORETYPE: "Haswell" })).toBeNull();
    expect(openblasCoretypeFor(info, { OPENBLAS_CORETYPE: "" })).toBeNull();
  });
});

test("on this machine the loaded OpenBLAS does not run generic kernels on an AVX2 / AVX-512 CPU", (ctx) => {
  if (!isBlasAddonBuilt() || process.env.OPENBLAS_CORETYPE !== undefined) ctx.skip();
  const flags = /^flags\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "";
  if (!/\bavx2\b/.test(flags)) ctx.skip();
  expect(blasInfo().core).not.toMatch(
    /^(Prescott|Core2|Katmai|Coppermine|Northwood|Banias|Atom|Nehalem|generic)$/i,
  );
});
