import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  BIOMED_LLAMA_MIXTURE,
  BIOMED_LLAMA_PUBLISHED_PERCENT,
  type GroupSpec,
  planMixture,
  stratumWeight,
  validateMixConfig,
} from "../src/index.js";

/** Round the way the README printed: to as many decimals as the published figure has. */
function asPublished(fraction: number, published: string): string {
  const decimals = published.split(".")[1]?.length ?? 0;
  return (fraction * 100).toFixed(decimals);
}

function groupShares(groups: GroupSpec[]): Map<string, number> {
  const shares = new Map<string, number>();
  for (const p of planMixture(groups)) shares.set(p.group, (shares.get(p.group) ?? 0) + p.target);
  return shares;
}

/** The medpalm group with k weight-5 exemplars and 24 - k weight-1 ones. */
function withMedpalmSplit(k: number): GroupSpec[] {
  return BIOMED_LLAMA_MIXTURE.map((g) =>
    g.name === "medpalm"
      ? {
          name: g.name,
          strata: [
            { source: "qa/medpalm", group: g.name, count: k, weight: 5 },
            { source: "consumer/medpalm", group: g.name, count: 24 - k, weight: 1 },
          ],
        }
      : g,
  );
}

describe("the BioMed-LLaMA README mixture", () => {
  test("the shipped table has the README's sample counts", () => {
    const counts = Object.fromEntries(
      BIOMED_LLAMA_MIXTURE.map((g) => [g.name, g.strata.reduce((a, s) => a + s.count, 0)]),
    );
    expect(counts).toEqual({
      "MedQA-USMLE/train": 10178,
      "MedMCQA/train": 182822,
      "PubMedQA/train": 211269,
      AlpacaDataCleaned: 51760,
      "visual-med-alpaca": 54412,
      medpalm: 24,
      "medpalm-cot": 19,
      "medpalm2-cot": 19,
      "mmlu-cot": 282,
      "codex-cot": 3,
    });
  });

  test("count × weight, normalised, reproduces every MixtureP figure as printed", () => {
    const shares = groupShares(BIOMED_LLAMA_MIXTURE);
    for (const [name, published] of Object.entries(BIOMED_LLAMA_PUBLISHED_PERCENT))
      expect(asPublished(shares.get(name)!, published), name).toBe(published);
  });

  test("closed form: MedQA's share is 10178·3 / (Σ count·weight) with Σ = 142356.3", () => {
    // Σ by hand: 30534 + 36564.4 + 21126.9 + 25880 + 27206 + (13·5 + 11·1) + 57 + 57 + 846 + 9
    const total = 30534 + 36564.4 + 21126.9 + 25880 + 27206 + 76 + 57 + 57 + 846 + 9;
    expect(total).toBeCloseTo(142356.3, 6);
    const plan = planMixture(BIOMED_LLAMA_MIXTURE);
    expect(plan.find((p) => p.source === "usmleqa/train")!.target).toBeCloseTo(30534 / total, 12);
    expect(plan.find((p) => p.source === "codex-cot")!.target).toBeCloseTo(9 / total, 12);
    expect(plan.reduce((a, p) => a + p.target, 0)).toBeCloseTo(1, 12);
  });

  test("only 11, 12 or 13 weight-5 medpalm exemplars reproduce the table (so the split is pinned down)", () => {
    const reproduces = (k: number) => {
      const shares = groupShares(withMedpalmSplit(k));
      return Object.entries(BIOMED_LLAMA_PUBLISHED_PERCENT).every(
        ([name, published]) => asPublished(shares.get(name)!, published) === published,
      );
    };
    const feasible = Array.from({ length: 25 }, (_, k) => k).filter(reproduces);
    expect(feasible).toEqual([11, 12, 13]);
  });

  test("ignoring the per-subset weights (all 24 at weight 5, or all at 1) does not reproduce it", () => {
    for (const k of [0, 24]) {
      const shares = groupShares(withMedpalmSplit(k));
      expect(asPublished(shares.get("medpalm")!, "0.05")).not.toBe("0.05");
    }
  });
});

describe("configs/mix-biomed-llama.json", () => {
  const file = new URL("../../../configs/mix-biomed-llama.json", import.meta.url);
  const config = validateMixConfig(JSON.parse(readFileSync(file, "utf8")), "mix-biomed-llama.json");

  test("gives every stratum of the published table the seed's weight", () => {
    const strata = BIOMED_LLAMA_MIXTURE.flatMap((g) => g.strata);
    for (const s of strata) {
      const src = config.sources.find((c) => c.name === s.source || s.source.endsWith(`/${c.name}`));
      expect(src, s.source).toBeDefined();
      expect(stratumWeight(src!, src!.name!, s.source), s.source).toBe(s.weight);
    }
    expect(config.sources).toHaveLength(BIOMED_LLAMA_MIXTURE.length);
    expect(config.draws).toBe(150000);
  });
});
