import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import {
  commitStepDir,
  latestCheckpoint,
  listCheckpoints,
  prepareTempStepDir,
  pruneCheckpoints,
  readManifest,
} from "../src/checkpoint-store";
import { CheckpointError } from "../src/errors";

test("only committed dirs count; prune keeps the newest K; recommit replaces", () => {
  const run = mkdtempSync(join(tmpdir(), "ckpt-"));
  expect(() => latestCheckpoint(run)).toThrow(CheckpointError);
  for (const step of [2, 4, 6]) {
    const tmp = prepareTempStepDir(run, step);
    writeFileSync(join(tmp, "train_state", "rank-00000.bin"), "x");
    commitStepDir(run, step, { step });
  }
  // a save killed before its rename, and a dir without the marker
  prepareTempStepDir(run, 8);
  mkdirSync(join(run, "checkpoints", "step-00000010"), { recursive: true });
  expect(listCheckpoints(run).map((c) => c.step)).toEqual([2, 4, 6]);
  expect(latestCheckpoint(run).step).toBe(6);
  pruneCheckpoints(run, 2);
  expect(listCheckpoints(run).map((c) => c.step)).toEqual([4, 6]);
  expect(existsSync(join(run, "checkpoints", ".step-00000008.tmp"))).toBe(false);
  prepareTempStepDir(run, 6);
  commitStepDir(run, 6, { step: 6, again: true });
  expect(readManifest<{ again: boolean }>(latestCheckpoint(run).dir).again).toBe(true);
  expect(existsSync(join(latestCheckpoint(run).dir, "train_state", "rank-00000.bin"))).toBe(false);
});
