import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { DEFAULT_TRAIN_CONFIG, loadConfig, validateConfig } from "../src/config";
import { ConfigError } from "../src/errors";

const configs = join(__dirname, "../../../configs");

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("validateConfig", () => {
  test("defaults are valid", () => {
    expect(validateConfig({})).toEqual(DEFAULT_TRAIN_CONFIG);
  });

  test("reports every problem at once, each naming its key", () => {
    const problems = problemsOf(() =>
      validateConfig({
        lr: -1,
        betas: [0.9, 1.5],
        schedule: "step",
        micro_batch: 3,
        global_batch: 8,
        lerning_rate: 3e-4,
        seq_len: 1.5,
        warmup_steps: 10,
        warmup_ratio: 0.1,
      }),
    );
    expect(problems).toHaveLength(7);
    for (const frag of [
      "lr: must be > 0",
      "betas[1]",
      "schedule: expected one of",
      'unknown key "lerning_rate"',
      "seq_len: expected an integer",
      "warmup_steps/warmup_ratio",
      "global_batch: 8 is not divisible",
    ])
      expect(
        problems.some((p) => p.includes(frag)),
        frag,
      ).toBe(true);
  });

  test("global batch must split over micro-batch × data-parallel ranks", () => {
    expect(() => validateConfig({ global_batch: 8, micro_batch: 2 }, { dpRanks: 4 })).not.toThrow();
    expect(problemsOf(() => validateConfig({ global_batch: 8, micro_batch: 2 }, { dpRanks: 3 }))[0]).toMatch(
      /micro_batch × data-parallel ranks = 2 × 3/,
    );
  });

  test("setting one of an either/or pair clears the other's default", () => {
    const c = validateConfig({ warmup_steps: 5, max_steps: 7 });
    expect(c.warmup_ratio).toBeNull();
    expect(c.epochs).toBeNull();
    expect(c.max_steps).toBe(7);
  });

  test("required keys are reported with the others", () => {
    const p = problemsOf(() => validateConfig({ lr: 0 }, { require: ["data", "out"] }));
    expect(p).toEqual(expect.arrayContaining(["data: required", "out: required"]));
    expect(p).toHaveLength(3);
  });
});

describe("loadConfig", () => {
  test("CLI overrides win over the file and clear the other half of a pair", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    const f = join(dir, "c.json");
    writeFileSync(f, JSON.stringify({ $comment: "x", lr: 1e-4, epochs: 2, warmup_ratio: 0.1 }));
    const c = loadConfig(f, { lr: 2e-4, max_steps: 3 });
    expect(c.lr).toBe(2e-4);
    expect(c.max_steps).toBe(3);
    expect(c.epochs).toBeNull();
    expect(c.warmup_ratio).toBe(0.1);
  });

  test("a bad file is named in the one-line message", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    const f = join(dir, "bad.json");
    writeFileSync(f, "{ lr: ");
    expect(() => loadConfig(f, {})).toThrow(/bad\.json: 1 problem: not valid JSON/);
  });

  test("shipped 7B config is the seed's run and valid on 32 ranks", () => {
    const c = loadConfig(join(configs, "biomed-llama-7b.json"), {}, { dpRanks: 32 });
    expect(c).toMatchObject({
      seq_len: 2048,
      global_batch: 2048,
      micro_batch: 1,
      lr: 3e-5,
      warmup_ratio: 0.03,
      schedule: "cosine",
      min_lr_ratio: 0.1,
      betas: [0.9, 0.95],
      eps: 1e-8,
      weight_decay: 0.1,
      clip: 1.0,
      sharding: "hybrid-grad-op",
    });
    expect(c.global_batch / (c.micro_batch * 32)).toBe(64);
  });

  test("shipped tiny CPU config is valid", () => {
    expect(() => loadConfig(join(configs, "tiny-cpu.json"), {})).not.toThrow();
  });
});

describe("layering of init_from and model", () => {
  test("--init-from on the command line replaces the config file's random-init preset", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    const file = join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ model: "tiny-llama", max_steps: 2 }));
    const cfg = loadConfig(file, { init_from: "/ckpt", data: "/d", out: "/o" });
    expect(cfg.init_from).toBe("/ckpt");
    expect(cfg.model).toBeNull();
  });

  test("both in the same layer is still an error", () => {
    expect(() =>
      validateConfig({ ...DEFAULT_TRAIN_CONFIG, model: "tiny-llama", init_from: "/ckpt" }),
    ).toThrow(/init_from\/model/);
  });
});
