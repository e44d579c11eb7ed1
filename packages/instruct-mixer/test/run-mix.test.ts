import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import {
  formatMixTable,
  formatPrompt,
  loadMixConfig,
  MixConfigError,
  runMix,
  SourceFormatError,
  sampleDataDir,
  sampleMixConfigPath,
  validateMixConfig,
} from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "instruct-mix-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const bad = (f: string) => fileURLToPath(new URL(`./fixtures/malformed/${f}`, import.meta.url));

describe("runMix on the bundled samples", () => {
  const out = join(work, "a", "mix.jsonl");
  const config = loadMixConfig(sampleMixConfigPath());
  const stats = runMix(config, { out, draws: 3000, seed: 7 });
  const lines = readFileSync(out, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));

  test("writes one trainer-ready line per draw, prompt/completion from formatPrompt", () => {
    expect(lines).toHaveLength(3000);
    for (const l of lines.slice(0, 200)) {
      expect(Object.keys(l)).toEqual([
        "source",
        "instruction",
        "input",
        "output",
        "template",
        "prompt",
        "completion",
      ]);
      expect({ prompt: l.prompt, completion: l.completion }).toEqual(formatPrompt(l));
    }
  });

  test("stats: one row per stratum, realised counts match the file, targets sum to 1", () => {
    const bySource = new Map<string, number>();
    for (const l of lines) bySource.set(l.source, (bySource.get(l.source) ?? 0) + 1);
    for (const row of stats.rows) expect(row.drawn, row.source).toBe(bySource.get(row.source) ?? 0);
    expect(stats.rows.reduce((a, r) => a + r.target, 0)).toBeCloseTo(1, 12);
    expect(stats.rows.find((r) => r.source === "liveqa/medpalm")!.weight).toBe(1);
    expect(stats.rows.find((r) => r.source === "usmleqa/medpalm")!.weight).toBe(5);
    // usmleqa/train: 6 records × 3 against the hand-summed mass of the sample config
    const mass =
      6 * 3 + 8 * 0.2 + 5 * 0.1 + 6 * 0.5 + 5 * 0.5 + (2 + 1 + 1) * 5 + 2 * 1 + 3 * 3 + 15 * 3 + 1 * 3;
    expect(stats.rows[0].target).toBeCloseTo(18 / mass, 12);
    const saved = JSON.parse(readFileSync(join(work, "a", "mix-stats.json"), "utf8"));
    expect(saved.rows).toEqual(stats.rows);
    expect(saved.seed).toBe(7);
  });

  test("no temporary files are left behind", () => {
    expect(readdirSync(join(work, "a")).sort()).toEqual(["mix-stats.json", "mix.jsonl"]);
  });

  test("the same seed reproduces the file byte for byte; dedup changes nothing on distinct samples", () => {
    const again = join(work, "b", "mix.jsonl");
    runMix(config, { out: again, draws: 3000, seed: 7, dedup: true });
    expect(readFileSync(again, "utf8")).toBe(readFileSync(out, "utf8"));
  });

  test("the printed table lists source, samples, weight, target %, realised % and exemplar subtotals", () => {
    const table = formatMixTable(stats.rows);
    const head = table.split("\n")[0];
    expect(head.split(/\s{2,}/)).toEqual(["source", "samples", "weight", "target %", "realised %"]);
    expect(table).toMatch(/^medpalm\s+6\s+5\/1\s/m);
    expect(table).toMatch(/^ {2}liveqa\/medpalm\s+1\s+1\s/m);
  });
});

describe("malformed input", () => {
  test("malformed records are counted per source; strict mode aborts and writes nothing", () => {
    const cfg = validateMixConfig({
      sources: [
        { adapter: "medqa", path: bad("medqa.jsonl") },
        { adapter: "alpaca", path: bad("alpaca.json"), name: "alpaca-bad" },
      ],
    });
    const stats = runMix(cfg, { out: join(work, "m", "mix.jsonl"), draws: 10 });
    expect(stats.sources.map((s) => [s.records, s.malformed])).toEqual([
      [2, 5],
      [2, 4],
    ]);
    expect(stats.malformedTotal).toBe(9);
    expect(stats.malformedExamples[0]).toMatchObject({ file: bad("medqa.jsonl"), index: 1 });

    const out = join(work, "s", "mix.jsonl");
    expect(() => runMix({ ...cfg, strict: true }, { out, draws: 10 })).toThrow(SourceFormatError);
    expect(() => readdirSync(join(work, "s"))).toThrow();
  });

  test("a failure while writing leaves the previous output intact", () => {
    const out = join(work, "keep", "mix.jsonl");
    runMix(loadMixConfig(sampleMixConfigPath()), { out, draws: 5 });
    const before = readFileSync(out, "utf8");
    const cfg = validateMixConfig({ sources: [{ adapter: "medqa", path: bad("medqa.jsonl") }] });
    expect(() =>
      runMix(cfg, {
        out,
        draws: 100,
        onProgress: () => {
          throw new Error("disk full");
        },
      }),
    ).toThrow("disk full");
    expect(readFileSync(out, "utf8")).toBe(before);
    expect(readdirSync(join(work, "keep")).sort()).toEqual(["mix-stats.json", "mix.jsonl"]);
  });

  test("subsetWeights naming a subset that does not exist is a config error", () => {
    const cfg = validateMixConfig({
      sources: [
        {
          adapter: "exemplars",
          path: join(sampleDataDir(), "exemplars/medpalm.sample.json"),
          subsetWeights: { usmle: 5 },
        },
      ],
    });
    expect(() => runMix(cfg, { out: join(work, "x", "mix.jsonl") })).toThrow(
      /subsetWeights names no subset of "medpalm": usmle/,
    );
  });
});

describe("mix.json validation", () => {
  test("relative paths resolve against the config's folder", () => {
    const file = join(work, "cfg", "mix.json");
    mkdirSync(join(work, "cfg"));
    writeFileSync(
      file,
      JSON.stringify({ sources: [{ adapter: "medqa", path: "data/train.jsonl", weight: 3 }] }),
    );
    expect(loadMixConfig(file).sources[0].path).toBe(join(work, "cfg", "data", "train.jsonl"));
  });

  test.each([
    [{}, /"sources" must be a non-empty array/],
    [{ sources: [{ adapter: "nope", path: "x" }] }, /adapter must be one of medqa, medmcqa/],
    [
      { sources: [{ adapter: "medqa", path: "x", weight: -1 }] },
      /sources\[0\]\.weight" must be a number >= 0/,
    ],
    [{ sources: [{ adapter: "medqa", path: "x", wieght: 2 }] }, /unknown field "wieght"/],
    [{ sources: [{ adapter: "medqa", path: "x" }], draws: 1.5 }, /"draws" must be a whole number/],
    [
      {
        sources: [
          { adapter: "medqa", path: "x", proportion: 1 },
          { adapter: "alpaca", path: "y" },
        ],
      },
      /every source has a "proportion" or none/,
    ],
    [
      {
        sources: [
          { adapter: "medqa", path: "x", name: "n" },
          { adapter: "alpaca", path: "y", name: "n" },
        ],
      },
      /source "n" appears twice/,
    ],
  ])("%j is rejected", (raw, message) => {
    expect(() => validateMixConfig(raw, "mix.json")).toThrow(MixConfigError);
    expect(() => validateMixConfig(raw, "mix.json")).toThrow(message);
  });

  test("unreadable and non-JSON config files name the file", () => {
    expect(() => loadMixConfig(join(work, "missing.json"))).toThrow(/missing\.json: file not found/);
    const broken = join(work, "broken.json");
    writeFileSync(broken, "{ sources: ");
    expect(() => loadMixConfig(broken)).toThrow(/broken\.json: not valid JSON/);
  });
});
