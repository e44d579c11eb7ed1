import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  generate,
  LLAMA_PRESETS,
  LlamaForCausalLM,
  loadHFCheckpoint,
  saveHFStateDict,
  setBackend,
} from "@biomed-llama/llama-model";
import { LlamaTokenizer } from "@biomed-llama/tokenizer";
import { beforeAll, expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
let modelDir: string;

beforeAll(() => {
  modelDir = join(mkdtempSync(join(tmpdir(), "gen-cli-")), "tiny");
  // A wide init so greedy decoding does not collapse onto one token.
  execFileSync(process.execPath, [cli, "init", "--preset", "tiny-llama", "--out", modelDir, "--seed", "3"]);
}, 60_000);

test("greedy generate: real tokenizer ids, same tokens as the library, text decoded", async () => {
  const out = execFileSync(
    process.execPath,
    [
      cli,
      "generate",
      "--model",
      modelDir,
      "--prompt",
      "Aspirin inhibits",
      "--max-new-tokens",
      "6",
      "--backend",
      "wasm",
      "--json",
    ],
    { encoding: "utf8" },
  );
  const r = JSON.parse(out);
  expect(r.backend).toBe("wasm");
  // LLaMA's SentencePiece ids: BOS, then "▁As" "pir" "in" "▁inhib" "its"
  const tok = await LlamaTokenizer.load(join(modelDir, "tokenizer.model"));
  expect(r.promptIds).toEqual(tok.encode("Aspirin inhibits", { bos: true }));
  expect(r.promptIds[0]).toBe(1);
  await setBackend("cpu");
  const model = await loadHFCheckpoint(modelDir);
  const expected = await generate(model, r.promptIds, { maxNewTokens: 6, eosTokenId: 2 });
  expect(r.ids).toEqual(expected);
  expect(r.completion).toBe(
    tok.decode([...r.promptIds, ...r.ids].filter((i) => i !== 2)).slice("Aspirin inhibits".length),
  );
  model.dispose();
}, 60_000);

test("sampling is reproducible from --seed", () => {
  const args = [
    cli,
    "generate",
    "--model",
    modelDir,
    "--prompt",
    "The",
    "--max-new-tokens",
    "5",
    "--temperature",
    "1.5",
    "--top-p",
    "0.95",
    "--seed",
    "9",
    "--backend",
    "cpu",
    "--json",
  ];
  const a = JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8" }));
  const b = JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8" }));
  expect(a.ids).toEqual(b.ids);
  expect(a.ids).toHaveLength(5);
}, 60_000);

test("a missing checkpoint fails with one line naming it", () => {
  const r = spawnSync(
    process.execPath,
    [cli, "generate", "--model", "/nonexistent/ckpt", "--prompt", "x", "--backend", "cpu"],
    {
      encoding: "utf8",
    },
  );
  expect(r.status).toBe(1);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toContain("/nonexistent/ckpt/config.json: not found");
  const r2 = spawnSync(
    process.execPath,
    [cli, "generate", "--model", modelDir, "--prompt", "x", "--top-p", "2"],
    { encoding: "utf8" },
  );
  expect(r2.status).not.toBe(0);
  expect(r2.stderr).toContain("--top-p");
}, 60_000);

test("NaN weights: a warning naming the checkpoint and tensor at load, then exit 1 at the first non-finite logits", async () => {
  // A checkpoint whose final norm holds one NaN: every logit is NaN. Before this guard the command
  // printed "⁇ ⁇" (token 0, picked from NaNs) and exited 0 without a word.
  const dir = join(mkdtempSync(join(tmpdir(), "gen-nan-")), "nan");
  await setBackend("cpu");
  const cfg = LLAMA_PRESETS["tiny-llama"];
  const m = new LlamaForCausalLM(cfg, { seed: 3 });
  const state = await m.stateDict();
  m.dispose();
  (state.get("model.norm.weight") as Float32Array)[3] = Number.NaN;
  await saveHFStateDict(cfg, state, dir);
  const r = spawnSync(
    process.execPath,
    [cli, "generate", "--model", dir, "--prompt", "Aspirin", "--max-new-tokens", "4", "--backend", "cpu"],
    { encoding: "utf8" },
  );
  expect(r.status).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toContain(
    `warning: ${dir}: parameter model.norm.weight holds NaN (at index 3): the checkpoint's weights are not finite\n`,
  );
  const last = r.stderr.trim().split("\n").at(-1);
  expect(last).toBe(
    `biomed-llama: ${dir}: the logits of generated token 1 are not finite (NaN for token id 0); the model's weights or inputs are broken`,
  );
}, 60_000);
