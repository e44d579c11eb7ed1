import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import * as format from "@biomed-llama/safetensors";
import { INDEX_FILE } from "@biomed-llama/safetensors";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, test } from "vitest";
import * as model from "../src/index";
import {
  CheckpointError,
  initHFCheckpoint,
  LlamaForCausalLM,
  loadHFCheckpoint,
  parameterCount,
  parameterShapes,
  saveHFCheckpoint,
  saveHFStateDict,
  setBackend,
} from "../src/index";
import { TINY, tmpDir } from "./helpers";

test("the safetensors names are @biomed-llama/safetensors' own, re-exported (one SafetensorsError class)", () => {
  const pairs: [string, unknown, unknown][] = [
    ["SafetensorsError", model.SafetensorsError, format.SafetensorsError],
    ["SafetensorsFile", model.SafetensorsFile, format.SafetensorsFile],
    ["SafetensorsCheckpoint", model.SafetensorsCheckpoint, format.SafetensorsCheckpoint],
    ["openSafetensors", model.openSafetensors, format.openSafetensors],
    ["readSafetensors", model.readSafetensors, format.readSafetensors],
    ["writeSafetensors", model.writeSafetensors, format.writeSafetensors],
    ["writeSafetensorsCheckpoint", model.writeSafetensorsCheckpoint, format.writeSafetensorsCheckpoint],
  ];
  for (const [name, ours, theirs] of pairs) expect(ours, name).toBe(theirs);
  // Every name the two packages share is one of those, and the same object: no copies, no other re-exports.
  const shared = Object.keys(format).filter((name) => name in model);
  expect(shared.sort()).toEqual(pairs.map(([name]) => name).sort());
  expect(new format.SafetensorsError("x")).toBeInstanceOf(model.SafetensorsError);
});

describe("Hugging Face checkpoints", () => {
  beforeAll(async () => {
    await setBackend("cpu");
  });

  test("stateDict returns copies; loadStateDict checks names and sizes", async () => {
    const model = new LlamaForCausalLM(TINY, { seed: 2 });
    const sd = await model.stateDict();
    const before = model.namedParameters().get("model.norm.weight")?.dataSync()[0];
    (sd.get("model.norm.weight") as Float32Array)[0] = 42;
    expect(model.namedParameters().get("model.norm.weight")?.dataSync()[0]).toBe(before);
    model.loadStateDict(sd);
    expect(model.namedParameters().get("model.norm.weight")?.dataSync()[0]).toBe(42);
    sd.delete("lm_head.weight");
    expect(() => model.loadStateDict(sd)).toThrow(/missing tensor "lm_head\.weight"/);
    expect(() => model.setParameter("model.norm.weight", new Float32Array(3))).toThrow(
      /has 3 values, expected shape \[32\]/,
    );
    model.dispose();
  });

  test("sharded round trip through model.safetensors.index.json", async () => {
    const model = new LlamaForCausalLM(TINY, { seed: 11 });
    const dir = path.join(tmpDir("shard"), "ckpt");
    await saveHFCheckpoint(model, dir, { maxShardBytes: 12_000 });
    const files = fs.readdirSync(dir).sort();
    expect(files).toContain(INDEX_FILE);
    const index = JSON.parse(fs.readFileSync(path.join(dir, INDEX_FILE), "utf8"));
    const shards = new Set(Object.values(index.weight_map));
    expect(shards.size).toBeGreaterThan(2);
    expect(files).toContain(`model-00001-of-${String(shards.size).padStart(5, "0")}.safetensors`);
    expect(index.metadata.total_size).toBe(4 * parameterCount(TINY));
    const back = await loadHFCheckpoint(dir);
    for (const [name, v] of model.namedParameters())
      expect(Array.from(back.namedParameters().get(name)?.dataSync() ?? [])).toEqual(
        Array.from(v.dataSync()),
      );
    // saving again replaces the directory atomically (no leftovers beside it)
    await saveHFCheckpoint(back, dir);
    expect(fs.readdirSync(dir)).not.toContain(INDEX_FILE);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(["ckpt"]);
    model.dispose();
    back.dispose();
  });

  test("saveHFStateDict writes parameters held outside a model; a missing tensor is refused", async () => {
    const model = new LlamaForCausalLM(TINY, { seed: 4 });
    const state = await model.stateDict();
    const dir = path.join(tmpDir("state"), "ckpt");
    await saveHFStateDict(model.config, state, dir);
    const back = await loadHFCheckpoint(dir);
    for (const [name, data] of state)
      expect(Array.from(back.namedParameters().get(name)!.dataSync())).toEqual(Array.from(data));
    state.delete("model.norm.weight");
    const other = path.join(tmpDir("state"), "ckpt");
    await expect(saveHFStateDict(model.config, state, other)).rejects.toThrow(
      /tensor "model\.norm\.weight" is missing/,
    );
    expect(fs.existsSync(other)).toBe(false);
    model.dispose();
    back.dispose();
  });

  test("saveHFStateDict pulls parameters one at a time in checkpoint order; a bad one leaves nothing", async () => {
    const model = new LlamaForCausalLM(TINY, { seed: 4 });
    const state = await model.stateDict();
    const asMap = path.join(tmpDir("pull"), "map");
    await saveHFStateDict(model.config, state, asMap);
    const asked: string[] = [];
    const pulled = path.join(tmpDir("pull"), "pulled");
    await saveHFStateDict(
      model.config,
      async (name) => {
        asked.push(name);
        return state.get(name) as Float32Array;
      },
      pulled,
    );
    expect(asked).toEqual([...parameterShapes(model.config).keys()]);
    const a = fs.readFileSync(path.join(asMap, "model.safetensors"));
    expect(fs.readFileSync(path.join(pulled, "model.safetensors")).equals(a)).toBe(true);
    const broken = path.join(tmpDir("pull"), "broken");
    await expect(
      saveHFStateDict(
        model.config,
        async (name) => (name === "model.norm.weight" ? new Float32Array(3) : state.get(name)!),
        broken,
      ),
    ).rejects.toThrow(/tensor "model\.norm\.weight" is missing or does not have 32 values/);
    expect(fs.existsSync(broken)).toBe(false);
    model.dispose();
  });

  test("initHFCheckpoint writes what new LlamaForCausalLM(config, { seed }) holds, HF-style init", async () => {
    const dir = path.join(tmpDir("init"), "m");
    await initHFCheckpoint({ ...TINY, pad_token_id: 0 }, dir, { seed: 5 });
    const loaded = await loadHFCheckpoint(dir);
    const fresh = new LlamaForCausalLM({ ...TINY, pad_token_id: 0 }, { seed: 5 });
    const q = fresh
      .namedParameters()
      .get("model.layers.1.self_attn.q_proj.weight")
      ?.dataSync() as Float32Array;
    expect(
      Array.from(loaded.namedParameters().get("model.layers.1.self_attn.q_proj.weight")?.dataSync() ?? []),
    ).toEqual(Array.from(q));
    const mean = q.reduce((a, b) => a + b, 0) / q.length;
    const std = Math.sqrt(q.reduce((a, b) => a + (b - mean) ** 2, 0) / q.length);
    expect(Math.abs(mean)).toBeLessThan(0.003);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
    expect(Array.from(fresh.namedParameters().get("model.norm.weight")?.dataSync() ?? [])).toEqual(
      Array(32).fill(1),
    );
    const emb = fresh.namedParameters().get("model.embed_tokens.weight")?.dataSync() as Float32Array;
    expect(Array.from(emb.slice(0, 32))).toEqual(Array(32).fill(0)); // padding row zeroed, as HF
    loaded.dispose();
    fresh.dispose();
  });

  test("initHFCheckpoint refuses a non-empty directory unless overwrite; saveHFCheckpoint replaces its own", async () => {
    const parent = tmpDir("init-guard");
    const dir = path.join(parent, "run");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "notes.txt"), "keep");
    await expect(initHFCheckpoint(TINY, dir, { seed: 1 })).rejects.toThrow(
      `${dir}: already exists and is not empty; refusing to replace it (overwrite: true replaces it)`,
    );
    expect(fs.readdirSync(dir)).toEqual(["notes.txt"]);
    await initHFCheckpoint(TINY, dir, { seed: 1, overwrite: true });
    expect(fs.readdirSync(dir).sort()).toEqual([
      "config.json",
      "generation_config.json",
      "model.safetensors",
    ]);
    const model = new LlamaForCausalLM(TINY, { seed: 2 });
    await saveHFCheckpoint(model, dir);
    model.dispose();
    expect(fs.readdirSync(parent)).toEqual(["run"]);
  });

  test("a write past the file size limit (EFBIG, as ENOSPC) names the file; nothing is left", () => {
    const parent = tmpDir("init-efbig");
    const dir = path.join(parent, "a", "ckpt");
    const dist = pathToFileURL(path.join(import.meta.dirname, "..", "dist", "index.js")).href;
    const script = `import { initHFCheckpoint, LLAMA_PRESETS } from ${JSON.stringify(dist)};
await initHFCheckpoint(LLAMA_PRESETS["tiny-llama"], ${JSON.stringify(dir)}).catch((e) => {
  process.stderr.write(e.message + "\\n");
  process.exit(1);
});`;
    const r = spawnSync(
      "bash",
      ["-c", 'ulimit -f 100; exec "$0" --input-type=module -e "$1"', process.execPath, script],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toBe(
      `${path.join(dir, "model.safetensors")}: file too large (file system limit or the process's file size limit, ulimit -f) (EFBIG)\n`,
    );
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  test("bad checkpoints fail with one line naming the tensor and file", async () => {
    const model = new LlamaForCausalLM(TINY, { seed: 1 });
    const root = tmpDir("bad");
    const dir = path.join(root, "ok");
    await saveHFCheckpoint(model, dir);
    const cfgPath = path.join(dir, "config.json");
    const cfg = JSON.parse(fs.readFileSync(cfgPath, "utf8"));

    fs.writeFileSync(cfgPath, JSON.stringify({ ...cfg, num_hidden_layers: 3 }));
    await expect(loadHFCheckpoint(dir)).rejects.toThrow(/ok: missing tensor "model\.layers\.2\./);
    fs.writeFileSync(cfgPath, JSON.stringify({ ...cfg, num_hidden_layers: 1 }));
    await expect(loadHFCheckpoint(dir)).rejects.toThrow(
      /model\.safetensors: unexpected tensor "model\.layers\.1\./,
    );
    fs.writeFileSync(cfgPath, JSON.stringify({ ...cfg, intermediate_size: 40 }));
    await expect(loadHFCheckpoint(dir)).rejects.toThrow(
      /model\.safetensors: tensor "model\.layers\.0\.mlp\.gate_proj\.weight" has shape \[48,32\], config\.json implies \[40,32\]/,
    );
    fs.writeFileSync(cfgPath, JSON.stringify({ ...cfg, num_attention_heads: 5 }));
    await expect(loadHFCheckpoint(dir)).rejects.toThrow(CheckpointError);
    fs.writeFileSync(cfgPath, "{");
    await expect(loadHFCheckpoint(dir)).rejects.toThrow(/config\.json: not valid JSON/);
    fs.rmSync(cfgPath);
    await expect(loadHFCheckpoint(dir)).rejects.toThrow(/config\.json: not found/);
    model.dispose();
    expect(tf.memory().numTensors).toBeGreaterThanOrEqual(0);
  });
});
