// buildAddon runs as an addon's install script would, in a throwaway package whose "node-gyp" is a
// stand-in (npm_config_node_gyp) that records how it was called and then succeeds or fails on request.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, test } from "vitest";

const buildAddonUrl = pathToFileURL(join(import.meta.dirname, "..", "build-addon.mjs")).href;

let pkg: string;
beforeEach(() => {
  pkg = mkdtempSync(join(tmpdir(), "addon-build-"));
  mkdirSync(join(pkg, "src"));
  mkdirSync(join(pkg, "scripts"));
  writeFileSync(join(pkg, "src", "addon.c"), "");
  writeFileSync(join(pkg, "binding.gyp"), "{}");
  writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "demo-addon" }));
  // The stand-in node-gyp: logs its arguments, directory and nodedir; FAKE_GYP_EXIT makes it fail.
  writeFileSync(
    join(pkg, "fake-gyp.mjs"),
    `import { mkdirSync, writeFileSync, appendFileSync } from "node:fs";
appendFileSync("gyp-calls.log", JSON.stringify({ args: process.argv.slice(2), cwd: process.cwd(), nodedir: process.env.npm_config_nodedir }) + "\\n");
if (process.env.FAKE_GYP_EXIT) process.exit(Number(process.env.FAKE_GYP_EXIT));
mkdirSync("build/Release", { recursive: true });
writeFileSync("build/Release/demo_addon.node", "");
`,
  );
  writeFileSync(
    join(pkg, "scripts", "build-native.mjs"),
    `import { buildAddon } from ${JSON.stringify(buildAddonUrl)};
buildAddon(new URL("..", import.meta.url), {
  output: "build/Release/demo_addon.node",
  inputs: ["src/addon.c", "binding.gyp"],
  skip: process.env.DEMO_SKIP,
  library: process.env.DEMO_LIBRARY,
  building: "building against Demo from /usr/include/demo.h",
  unavailable: "demo features will be unavailable",
  how: "apt-get install libdemo-dev",
});
`,
  );
});
afterEach(() => rmSync(pkg, { recursive: true, force: true }));

function run(args: string[] = [], env: Record<string, string> = {}) {
  const base = { ...process.env };
  delete base.npm_lifecycle_event;
  delete base.npm_config_nodedir;
  const r = spawnSync(process.execPath, [join(pkg, "scripts", "build-native.mjs"), ...args], {
    cwd: pkg,
    encoding: "utf8",
    env: { ...base, npm_config_node_gyp: join(pkg, "fake-gyp.mjs"), ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function gypCalls(): { args: string[]; cwd: string; nodedir?: string }[] {
  try {
    return readFileSync(join(pkg, "gyp-calls.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

describe("buildAddon", () => {
  test("runs node-gyp rebuild in the package when the addon is not built", () => {
    const r = run();
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(r.stdout).toBe("demo-addon: building against Demo from /usr/include/demo.h\n");
    expect(gypCalls()).toMatchObject([{ args: ["rebuild"], cwd: pkg }]);
  });

  test("skips the build when the addon is newer than its inputs, unless --force", () => {
    run();
    expect(run().stdout).toBe("demo-addon: native addon is up to date\n");
    expect(gypCalls()).toHaveLength(1);
    expect(run(["--force"]).stdout).toMatch(/building against Demo/);
    expect(gypCalls()).toHaveLength(2);
  });

  test("rebuilds when an input changed after the last build", () => {
    run();
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(pkg, "binding.gyp"), later, later);
    expect(run().stdout).toMatch(/building against Demo/);
    expect(gypCalls()).toHaveLength(2);
  });

  test("skip: prints the reason and builds nothing", () => {
    const r = run(["--force"], { DEMO_SKIP: "no Demo found; skipped the native build" });
    expect(r).toEqual({
      status: 0,
      stdout: "demo-addon: no Demo found; skipped the native build\n",
      stderr: "",
    });
    expect(gypCalls()).toEqual([]);
  });

  test("a failed build fails `build` (exit 1)", () => {
    const r = run([], { FAKE_GYP_EXIT: "3" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("demo-addon: node-gyp rebuild failed (exit 3)\n");
  });

  test("a failed build only warns during `install` (exit 0), saying what is missing and how to get it", () => {
    const r = run([], { FAKE_GYP_EXIT: "3", npm_lifecycle_event: "install" });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      "demo-addon: WARNING node-gyp rebuild failed (exit 3); demo features will be unavailable until: apt-get install libdemo-dev\n",
    );
  });

  test("keeps an npm_config_nodedir the caller set", () => {
    run([], { npm_config_nodedir: "/opt/node-headers" });
    expect(gypCalls()[0]?.nodedir).toBe("/opt/node-headers");
  });
});
