import { expect, test } from "vitest";
import * as api from "../src/index";

test("public API exports the contract names", () => {
  for (const name of [
    "AdamW",
    "clipGradNorm",
    "cosineWithWarmup",
    "linearWithWarmup",
    "constantLr",
    "warmupStepsFrom",
  ]) {
    expect(typeof (api as Record<string, unknown>)[name]).toBe("function");
  }
});
