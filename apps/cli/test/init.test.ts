import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  LlamaForCausalLM,
  loadHFCheckpoint,
  openSafetensors,
  parameterCount,
  setBackend,
} from "@biomed-llama/llama-model";
import { defaultTokenizerModelPath } from "@biomed-llama/tokenizer";
import { expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), "init-cli-"));

test("init --preset writes an HF checkpoint whose weights are HF-style init for the seed", async () => {
  const out = join(tmp(), "tiny");
  const stdout = execFileSync(
    process.execPath,
    [cli, "init", "--preset", "tiny-llama", "--out", out, "--seed", "7", "--json"],
    {
      encoding: "utf8",
    },
  );
  const summary = JSON.parse(stdout);
  // 2·32000·64 (embed, lm_head) + 2 layers·(4·64² + 3·64·172 + 2·64) + 64
  expect(summary.parameters).toBe(2 * 32000 * 64 + 2 * (4 * 64 * 64 + 3 * 64 * 172 + 128) + 64);
  const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
  expect(cfg.architectures).toEqual(["LlamaForCausalLM"]);
  expect(cfg.model_type).toBe("llama");
  expect(cfg.vocab_size).toBe(32000);
  expect(existsSync(join(out, "tokenizer.model"))).toBe(true);
  const st = openSafetensors(join(out, "model.safetensors"));
  expect(st.tensors.get("model.layers.1.mlp.down_proj.weight")?.shape).toEqual([64, 172]);
  expect(st.tensors.size).toBe(2 + 2 * 9 + 1);
  st.close();
  await setBackend("cpu");
  const loaded = await loadHFCheckpoint(out);
  expect(parameterCount(loaded.config)).toBe(summary.parameters);
  const fresh = new LlamaForCausalLM(loaded.config, { seed: 7 });
  const name = "model.layers.0.self_attn.v_proj.weight";
  expect(Array.from(loaded.namedParameters().get(name)?.dataSync() ?? [])).toEqual(
    Array.from(fresh.namedParameters().get(name)?.dataSync() ?? []),
  );
  loaded.dispose();
  fresh.dispose();
});

test("init --config with --vocab-size and --dtype BF16", () => {
  const dir = tmp();
  const cfgPath = join(dir, "config.json");
  writeFileSync(
    cfgPath,
    JSON.stringify({
      vocab_size: 100,
      hidden_size: 16,
      intermediate_size: 24,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      max_position_embeddings: 32,
      rms_norm_eps: 1e-5,
    }),
  );
  const out = join(dir, "m");
  execFileSync(process.execPath, [
    cli,
    "init",
    "--config",
    cfgPath,
    "--vocab-size",
    "120",
    "--dtype",
    "BF16",
    "--out",
    out,
  ]);
  const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
  expect(cfg.vocab_size).toBe(120);
  expect(cfg.torch_dtype).toBe("bfloat16");
  expect(existsSync(join(out, "tokenizer.model"))).toBe(false); // not LLaMA's vocabulary
  const st = openSafetensors(join(out, "model.safetensors"));
  expect(st.tensors.get("model.embed_tokens.weight")).toMatchObject({ dtype: "BF16", shape: [120, 16] });
  st.close();
});

test("bad input: one line on stderr, exit code 1, nothing written", () => {
  const dir = tmp();
  const bad = join(dir, "bad.json");
  writeFileSync(
    bad,
    JSON.stringify({
      vocab_size: 10,
      hidden_size: 10,
      intermediate_size: 4,
      num_hidden_layers: 1,
      num_attention_heads: 3,
      max_position_embeddings: 8,
      rms_norm_eps: 1e-5,
    }),
  );
  const r = spawnSync(process.execPath, [cli, "init", "--config", bad, "--out", join(dir, "x")], {
    encoding: "utf8",
  });
  expect(r.status).toBe(1);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toContain(`${bad}: "hidden_size" 10 is not divisible by "num_attention_heads" 3`);
  expect(existsSync(join(dir, "x"))).toBe(false);
  const r2 = spawnSync(process.execPath, [cli, "init", "--preset", "nope", "--out", join(dir, "y")], {
    encoding: "utf8",
  });
  expect(r2.status).not.toBe(0);
  expect(r2.stderr).toContain("nope");
});

const init = (...args: string[]) => spawnSync(process.execPath, [cli, "init", ...args], { encoding: "utf8" });

test("an existing non-empty --out (or a plain file) is refused before any work; --overwrite replaces it atomically", () => {
  const dir = tmp();
  const run = join(dir, "run");
  mkdirSync(join(run, "sub"), { recursive: true });
  writeFileSync(join(run, "notes.txt"), "keep");
  const r = init("--preset", "tiny-llama", "--out", run);
  expect(r.status).toBe(1);
  expect(r.stderr).toBe(
    `biomed-llama: --out ${run}: already exists and is not empty; pass --overwrite to replace it, or pick another path\n`,
  );
  expect(readdirSync(run).sort()).toEqual(["notes.txt", "sub"]);
  expect(readFileSync(join(run, "notes.txt"), "utf8")).toBe("keep");

  const file = join(dir, "plain");
  writeFileSync(file, "keep");
  for (const extra of [[], ["--overwrite"]]) {
    const f = init("--preset", "tiny-llama", "--out", file, ...extra);
    expect(f.status).toBe(1);
    expect(f.stderr.trim().split("\n")).toEqual([
      `biomed-llama: --out ${file}: exists and is not a directory; pick another path`,
    ]);
    expect(readFileSync(file, "utf8")).toBe("keep");
  }

  // An empty directory is fine without --overwrite.
  const empty = join(dir, "empty");
  mkdirSync(empty);
  expect(init("--preset", "tiny-llama", "--out", empty, "--no-tokenizer").status).toBe(0);
  expect(readdirSync(empty).sort()).toEqual(["config.json", "generation_config.json", "model.safetensors"]);

  const ok = init("--preset", "tiny-llama", "--out", run, "--overwrite");
  expect(ok.status, ok.stderr).toBe(0);
  expect(readdirSync(run).sort()).toEqual([
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.model",
  ]);
  // No staging or old directory left beside it.
  expect(readdirSync(dir).sort()).toEqual(["empty", "plain", "run"]);
});

test("--tokenizer is checked before any work: not a SentencePiece model, or another vocabulary size", () => {
  const dir = tmp();
  const garbage = join(dir, "garbage.model");
  writeFileSync(garbage, "this is not a tokenizer");
  const r = init("--preset", "tiny-llama", "--out", join(dir, "a"), "--tokenizer", garbage);
  expect(r.status).toBe(1);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(
    new RegExp(`^biomed-llama: --tokenizer ${garbage}: not a usable SentencePiece model \\(`),
  );
  const bundled = join(dir, "llama.model");
  // The bundled LLaMA model (32000 pieces) against a 100-token model.
  writeFileSync(bundled, readFileSync(defaultTokenizerModelPath()));
  const v = init(
    "--preset",
    "tiny-llama",
    "--vocab-size",
    "100",
    "--out",
    join(dir, "b"),
    "--tokenizer",
    bundled,
  );
  expect(v.status).toBe(1);
  expect(v.stderr).toBe(
    `biomed-llama: --tokenizer ${bundled}: has 32000 pieces, the model's vocab_size is 100; pass --vocab-size 32000, another --tokenizer, or --no-tokenizer\n`,
  );
  expect(readdirSync(dir).sort()).toEqual(["garbage.model", "llama.model"]);
  // The same file with the matching vocabulary is copied in.
  expect(init("--preset", "tiny-llama", "--out", join(dir, "c"), "--tokenizer", bundled).status).toBe(0);
  expect(readFileSync(join(dir, "c", "tokenizer.model"))).toEqual(readFileSync(bundled));
});

test("the progress log ends at the total: 4.2/4.2 M params (100.0%)", () => {
  const dir = tmp();
  const r = init("--preset", "tiny-llama", "--out", join(dir, "m"));
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stderr.trim().split("\n");
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.at(-1)).toMatch(/^init: 4\.2\/4\.2 M params \(100\.0%\) \|/);
});

test("a failed init leaves nothing behind, not even the parent directories it would create", () => {
  const dir = tmp();
  const deep = join(dir, "a", "b", "c");
  const r = init("--preset", "tiny-llama", "--out", deep, "--tokenizer", join(dir, "missing.model"));
  expect(r.status).toBe(1);
  expect(r.stderr.trim().split("\n")).toEqual([
    `biomed-llama: --tokenizer ${join(dir, "missing.model")}: not a usable SentencePiece model (ENOENT)`,
  ]);
  expect(readdirSync(dir)).toEqual([]);
});
