import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

test("biomed-eval --help names the program", () => {
  const out = execFileSync(process.execPath, [cli, "--help"], { encoding: "utf8" });
  expect(out).toContain("Usage: biomed-eval");
});
