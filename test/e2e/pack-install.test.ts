// Every package must work when installed alone from its tarball, outside the workspace: this packs
// all thirteen with `pnpm pack` (which rewrites workspace:* ranges), installs the tarballs into an empty
// project with plain npm, runs each README's first example there (ESM), and checks that `require`
// (CJS) sees the same exports as `import`.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const packages = [
  "pile-reader",
  "tokenizer",
  "llama-model",
  "fsdp-sharding",
  "optimizer",
  "trainer",
  "evaluator",
  "instruct-mixer",
  "safe-files",
  "safetensors",
  "seeded-random",
  "medical-qa",
  "run-report",
  "progress",
  "webgpu-backend",
];
// tsx (a root devDependency) strips the examples' TypeScript; only the loader comes from the workspace,
// every import inside an example resolves from the consumer project.
const tsxLoader = pathToFileURL(
  join(dirname(createRequire(join(repoRoot, "package.json")).resolve("tsx/package.json")), "dist/loader.mjs"),
).href;

/** The first ```ts / ```js block of a README: the runnable example every package opens with. */
function firstExample(readme: string): string | undefined {
  const m = /```(?:ts|typescript|js|javascript|mjs)\n([\s\S]*?)```/.exec(readme);
  return m?.[1];
}

let work: string;
let project: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "biomed-pack-"));
  const tarballs = join(work, "tarballs");
  project = join(work, "consumer");
  mkdirSync(tarballs);
  mkdirSync(project);
  // mpi-addon is fsdp-sharding's optional dependency, blas-addon and native-backend llama-model's
  // (native-backend also the optimizer's), addon-build the addons' install-time build: packed too, so
  // npm resolves them locally.
  for (const name of [...packages, "mpi-addon", "blas-addon", "native-backend", "addon-build"]) {
    execFileSync("pnpm", ["pack", "--pack-destination", tarballs], {
      cwd: join(repoRoot, "packages", name),
      stdio: "pipe",
    });
  }
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify(
      {
        name: "consumer",
        private: true,
        allowScripts: { "zstd-napi": true, "@biomed-llama/native-backend": true },
      },
      null,
      2,
    ),
  );
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...files], {
    cwd: project,
    stdio: "pipe",
    env: { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir ?? "/usr" },
  });
}, 900_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.each(packages)("@biomed-llama/%s installed from its tarball", (name) => {
  test("ships only dist, README and package.json", () => {
    const dir = join(project, "node_modules", "@biomed-llama", name);
    const top = readdirSync(dir).sort();
    expect(
      top.filter((f) => !["dist", "README.md", "package.json", "LICENSE", "data", "models"].includes(f)),
    ).toEqual([]);
    const pj = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    for (const range of Object.values<string>(pj.dependencies ?? {}))
      expect(range).not.toMatch(/^workspace:/);
  });

  test("require (CJS) and import (ESM) expose the same names", () => {
    const spec = `@biomed-llama/${name}`;
    const cjs = execFileSync(
      process.execPath,
      ["-e", `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(spec)})).sort()))`],
      { cwd: project, encoding: "utf8" },
    );
    const esm = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(spec)}); console.log(JSON.stringify(Object.keys(m).filter((k) => k !== "default" && k !== "module.exports").sort()))`,
      ],
      { cwd: project, encoding: "utf8" },
    );
    const cjsNames: string[] = JSON.parse(cjs);
    expect(cjsNames.length).toBeGreaterThan(0);
    expect(cjsNames).toEqual(JSON.parse(esm));
  });

  test("the README's first example runs", () => {
    const readme = readFileSync(join(repoRoot, "packages", name, "README.md"), "utf8");
    const example = firstExample(readme);
    expect(example, `packages/${name}/README.md has no example`).toBeDefined();
    const file = join(project, `example-${name}.mts`);
    writeFileSync(file, example!);
    execFileSync(process.execPath, ["--import", tsxLoader, file], {
      cwd: project,
      stdio: "pipe",
      timeout: 300_000,
    });
  });
});

// The native backend builds its addon at install where oneDNN is present; without it the install
// still succeeds and the README's example runs, saying why the backend is unavailable.
describe("@biomed-llama/native-backend installed from its tarball", () => {
  const example = () => {
    const readme = readFileSync(join(repoRoot, "packages", "native-backend", "README.md"), "utf8");
    const code = firstExample(readme);
    expect(code, "packages/native-backend/README.md has no example").toBeDefined();
    return code as string;
  };
  const runExample = (dir: string) => {
    const file = join(dir, "example-native-backend.mts");
    writeFileSync(file, example());
    return execFileSync(process.execPath, ["--import", tsxLoader, file], {
      cwd: dir,
      encoding: "utf8",
      timeout: 300_000,
    });
  };

  test("with oneDNN: the addon is built at install and the example runs on it", () => {
    const out = runExample(project);
    expect(out).toMatch(/onednn: '\d+\.\d+\.\d+'/);
    expect(out).toMatch(/\[ 256, 1024 \] \[ 256, 512 \]/);
  });

  test("without oneDNN: the install succeeds and the example says why the backend is unavailable", () => {
    const bare = join(work, "consumer-without-onednn");
    mkdirSync(bare);
    writeFileSync(
      join(bare, "package.json"),
      JSON.stringify({ name: "bare", private: true, allowScripts: { "@biomed-llama/native-backend": true } }),
    );
    // native-backend's install script runs @biomed-llama/addon-build: its tarball comes along.
    const tarballs = readdirSync(join(work, "tarballs"))
      .filter((f) => f.includes("native-backend") || f.includes("addon-build"))
      .map((f) => join(work, "tarballs", f));
    expect(tarballs).toHaveLength(2);
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...tarballs], {
      cwd: bare,
      stdio: "pipe",
      env: { ...process.env, BIOMED_LLAMA_NATIVE_BUILD: "0" },
    });
    const out = runExample(bare);
    expect(out).toMatch(
      /^native backend unavailable: native addon not built: \S*native_backend\.node does not exist; apt-get install libdnnl-dev/m,
    );
  }, 300_000);
});
