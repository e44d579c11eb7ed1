import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
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
