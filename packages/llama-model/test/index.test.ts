import { expect, test } from "vitest";
import { PACKAGE_NAME } from "../src/index";

test("package name", () => {
  expect(PACKAGE_NAME).toBe("@biomed-llama/llama-model");
});
