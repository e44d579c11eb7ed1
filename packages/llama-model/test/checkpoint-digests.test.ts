// A checkpoint the trainer wrote carries manifest.json with the size and sha256 of each file: loading
// it checks the files a model load reads (not the optimizer state) and refuses a damaged one by name.
import { closeSync, mkdirSync, openSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { digestTree } from "@biomed-llama/safe-files";
import { beforeAll, expect, test } from "vitest";
import {
  CheckpointError,
  LlamaForCausalLM,
  loadHFCheckpoint,
  resolveConfig,
  saveHFCheckpoint,
  setBackend,
} from "../src/index";
import { TINY, tmpDir } from "./helpers";

let dir: string;

beforeAll(async () => {
  await setBackend("cpu");
  dir = join(tmpDir("digests"), "step-00000004");
  const m = new LlamaForCausalLM(resolveConfig(TINY), { seed: 1 });
  await saveHFCheckpoint(m, dir);
  m.dispose();
  mkdirSync(join(dir, "train_state"));
  writeFileSync(join(dir, "train_state", "rank-00000-of-00001.safetensors"), Buffer.alloc(4096, 1));
  const files = digestTree(dir);
  writeFileSync(join(dir, "manifest.json"), JSON.stringify({ step: 4, files }));
});

function flipByte(file: string, at: number): void {
  const fd = openSync(file, "r+");
  writeSync(fd, Buffer.from([0xff]), 0, 1, at);
  closeSync(fd);
}

test("an intact checkpoint loads; damaged optimizer state does not matter to a model load", async () => {
  flipByte(join(dir, "train_state", "rank-00000-of-00001.safetensors"), 100);
  const m = await loadHFCheckpoint(dir);
  expect(m.config.hidden_size).toBe(TINY.hidden_size);
  m.dispose();
});

test("a flipped byte in the weights is refused naming the file; verify: false loads it anyway", async () => {
  // a byte of the last tensor's data (the header stays valid: only the digest can tell)
  flipByte(join(dir, "model.safetensors"), statSync(join(dir, "model.safetensors")).size - 10);
  const err = await loadHFCheckpoint(dir).catch((e) => e);
  expect(err).toBeInstanceOf(CheckpointError);
  expect(err.message).toBe(
    `${join(dir, "model.safetensors")}: sha256 differs from the manifest (the file is damaged) (checked against ${join(dir, "manifest.json")})`,
  );
  (await loadHFCheckpoint(dir, { verify: false })).dispose();
});
