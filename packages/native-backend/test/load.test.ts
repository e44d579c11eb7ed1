import { expect, test } from "vitest";
import { NATIVE_INSTALL_HINT, tryLoadNativeBinding } from "../src/index.js";

// The other suites of this package run only where the addon loads; CI installs oneDNN (scripts/setup.sh),
// so there it must load, or every native test would silently skip.
test("the addon loads where CI runs; elsewhere the reason names the fix", () => {
  const { binding, reason } = tryLoadNativeBinding();
  if (process.env.CI) expect(reason).toBeNull();
  if (binding) {
    const info = binding.info();
    expect(info.onednn).toMatch(/^\d+\.\d+\.\d+$/);
    expect(info.threads).toBeGreaterThan(0);
  } else expect(reason).toContain(NATIVE_INSTALL_HINT);
});
