import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect, test } from "vitest";
import { PKG_DIR } from "./helpers/world.js";

/** Runs test/workers/small-shm.ts with files limited to `kib` KiB (bash `ulimit -f`). */
function underFileLimit(kib: number): { regionElems: number | null; refusal: string } {
  const worker = join(PKG_DIR, "test", "workers", "small-shm.ts");
  const r = spawnSync(
    "bash",
    ["-c", `ulimit -f ${kib}; exec "${process.execPath}" --import tsx "${worker}"`],
    {
      cwd: PKG_DIR,
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

// A Docker container's /dev/shm is 64 MiB by default; a mapping of a sparse file there would die with
// SIGBUS on first touch once it is full. Member 0 allocates up front and halves the region until it fits.
test("a small /dev/shm gets smaller regions (halved until they fit), not a crash", () => {
  // One member, two sets: 2 × 16 MiB wanted. Under a 4 MiB file limit: 16 → 8 → 4 → 2 → 1 MiB regions.
  const got = underFileLimit(4096);
  expect(got.refusal).toBe("");
  expect(got.regionElems).toBe((1 << 20) / 4);
});

test("below the smallest region, shared memory is refused with the reason and TCP remains", () => {
  const got = underFileLimit(64);
  expect(got.regionElems).toBeNull();
  expect(got.refusal).toMatch(
    /member 0 could not create .*biomed-llama-world-.*: posix_fallocate of \d+ bytes: File too large/,
  );
});
