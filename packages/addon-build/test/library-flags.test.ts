import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { commandOutput, withRpath } from "../library-flags.mjs";

const libraryFlagsUrl = pathToFileURL(join(import.meta.dirname, "..", "library-flags.mjs")).href;

// A demo-flags.mjs like blas-addon's blas-flags.mjs: DEMO_FOUND=0 makes its search find nothing.
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "library-flags-"));
  writeFileSync(
    join(dir, "demo-flags.mjs"),
    `import { runFlagsScript } from ${JSON.stringify(libraryFlagsUrl)};
export function demoFlags() {
  if (process.env.DEMO_FOUND === "0") return null;
  return { compile: "-I/opt/demo/include", link: "-L/opt/demo/lib -ldemo", source: "test" };
}
runFlagsScript(import.meta.url, demoFlags, "demo-flags: no Demo found");
`,
  );
  writeFileSync(
    join(dir, "importer.mjs"),
    `import { demoFlags } from "./demo-flags.mjs";\nconsole.log(demoFlags().source);\n`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function node(script: string, args: string[] = [], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(dir, script), ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("library-flags", () => {
  test("commandOutput: trimmed stdout, or null when the command fails or is missing", () => {
    expect(commandOutput(process.execPath, ["-e", "console.log('  -I/x  ')"])).toBe("-I/x");
    expect(commandOutput(process.execPath, ["-e", "process.exit(2)"])).toBeNull();
    expect(commandOutput("/nonexistent/pkg-config", ["--libs", "demo"])).toBeNull();
  });

  test("withRpath adds an rpath for every -L directory", () => {
    expect(withRpath("-L/opt/demo/lib -ldemo")).toBe("-L/opt/demo/lib -ldemo -Wl,-rpath,/opt/demo/lib");
    expect(withRpath("-ldemo")).toBe("-ldemo");
  });

  test("runFlagsScript answers binding.gyp: compile, link (with rpaths) or JSON", () => {
    expect(node("demo-flags.mjs", ["compile"])).toEqual({
      status: 0,
      stdout: "-I/opt/demo/include\n",
      stderr: "",
    });
    expect(node("demo-flags.mjs", ["link"]).stdout).toBe("-L/opt/demo/lib -ldemo -Wl,-rpath,/opt/demo/lib\n");
    expect(JSON.parse(node("demo-flags.mjs", ["json"]).stdout)).toMatchObject({ source: "test" });
  });

  test("runFlagsScript without flags: the reason on stderr, exit 1 (node-gyp configure then fails)", () => {
    expect(node("demo-flags.mjs", ["compile"], { DEMO_FOUND: "0" })).toEqual({
      status: 1,
      stdout: "",
      stderr: "demo-flags: no Demo found\n",
    });
  });

  test("runFlagsScript does nothing when the flags script is imported rather than run", () => {
    expect(node("importer.mjs")).toEqual({ status: 0, stdout: "test\n", stderr: "" });
  });
});
