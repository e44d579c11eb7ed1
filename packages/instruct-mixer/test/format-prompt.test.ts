import { describe, expect, test } from "vitest";
import { formatPrompt, PROMPT_TEMPLATES } from "../src/index.js";

describe("formatPrompt", () => {
  test("alpaca with input: the Stanford Alpaca prompt, completion is the output verbatim", () => {
    const r = formatPrompt({ instruction: "Translate.", input: "Hola", output: "Hello" });
    expect(r.prompt).toBe(
      "Below is an instruction that describes a task, paired with an input that provides further context. " +
        "Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\nTranslate.\n\n### Input:\nHola\n\n### Response:\n",
    );
    expect(r.completion).toBe("Hello");
  });

  test("alpaca without input (blank input counts as none)", () => {
    const r = formatPrompt({ instruction: "Name a bone.", input: "  ", output: "Femur" });
    expect(r.prompt).toBe(
      "Below is an instruction that describes a task. " +
        "Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\nName a bone.\n\n### Response:\n",
    );
    expect(r.prompt).not.toContain("### Input");
  });

  test("qa template puts the answer line wholly in the completion", () => {
    const r = formatPrompt({
      template: "qa",
      instruction: "Pick one.",
      input: "### Question: Q?\n\n### Options:\n(A) x\n(B) y",
      output: "(B) y",
    });
    expect(r.prompt).toBe("Pick one.\n\n### Question: Q?\n\n### Options:\n(A) x\n(B) y\n\n### Answer:\n");
    expect(r.completion).toBe("(B) y");
  });

  test("braces inside record text are not treated as placeholders", () => {
    const r = formatPrompt({ instruction: "Solve $\\frac{1}{2}$ {input}", input: "", output: "{output}" });
    expect(r.prompt).toContain("$\\frac{1}{2}$ {input}");
    expect(r.completion).toBe("{output}");
  });

  test("every template's prompt ends with a newline and completion adds nothing around the output", () => {
    for (const [name, t] of Object.entries(PROMPT_TEMPLATES)) {
      const r = formatPrompt({ template: name as "qa", instruction: "i", input: "x", output: "o" });
      expect(r.prompt.endsWith("\n"), name).toBe(true);
      expect(r.completion).toBe("o");
      expect(t.promptNoInput.endsWith("\n"), name).toBe(true);
    }
  });

  test("unknown template names fail loudly", () => {
    expect(() => formatPrompt({ template: "nope" as "qa", instruction: "", input: "", output: "" })).toThrow(
      /unknown prompt template "nope"/,
    );
  });
});
