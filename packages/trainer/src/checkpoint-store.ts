import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CheckpointError } from "./errors.js";

/** Written last into a checkpoint directory; a directory without it is not a checkpoint. */
export const COMPLETE_MARKER = "COMPLETE";
export const MANIFEST_FILE = "manifest.json";
const STEP_DIR = /^step-(\d{8})$/;

export interface CheckpointRef {
  step: number;
  dir: string;
}

export function checkpointsDir(runDir: string): string {
  return join(runDir, "checkpoints");
}

export function stepDirName(step: number): string {
  return `step-${String(step).padStart(8, "0")}`;
}

/** Complete checkpoints of a run, oldest first. Temp dirs and dirs without the marker are skipped. */
export function listCheckpoints(runDir: string): CheckpointRef[] {
  const root = checkpointsDir(runDir);
  if (!existsSync(root)) return [];
  const out: CheckpointRef[] = [];
  for (const name of readdirSync(root)) {
    const m = STEP_DIR.exec(name);
    if (!m) continue;
    const dir = join(root, name);
    if (existsSync(join(dir, COMPLETE_MARKER)) && existsSync(join(dir, MANIFEST_FILE)))
      out.push({ step: Number(m[1]), dir });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** The newest complete checkpoint, or a CheckpointError naming the run dir. */
export function latestCheckpoint(runDir: string): CheckpointRef {
  const all = listCheckpoints(runDir);
  if (all.length === 0)
    throw new CheckpointError(
      `${runDir}: no complete checkpoint under ${checkpointsDir(runDir)} to resume from`,
    );
  return all[all.length - 1];
}

/** Where a checkpoint is assembled before it is renamed into place. */
export function tempStepDir(runDir: string, step: number): string {
  return join(checkpointsDir(runDir), `.${stepDirName(step)}.tmp`);
}

/** Rank 0, before the ranks write: an empty temp dir (a leftover from a crash is removed). */
export function prepareTempStepDir(runDir: string, step: number): string {
  const tmp = tempStepDir(runDir, step);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "train_state"), { recursive: true });
  return tmp;
}

/**
 * Rank 0, after every rank has written its files into the temp dir: manifest, then the marker,
 * then one rename. A crash before the rename leaves only a temp dir, never a damaged checkpoint;
 * an existing checkpoint of the same step (a run resumed from before it) is replaced whole.
 */
export function commitStepDir(runDir: string, step: number, manifest: object): CheckpointRef {
  const tmp = tempStepDir(runDir, step);
  writeFileSync(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(tmp, COMPLETE_MARKER), `${new Date().toISOString()}\n`);
  const dir = join(checkpointsDir(runDir), stepDirName(step));
  if (existsSync(dir)) {
    const old = `${dir}.old`;
    rmSync(old, { recursive: true, force: true });
    renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, dir);
  }
  return { step, dir };
}

/** Keeps the newest `keepLast` complete checkpoints and removes stale temp dirs. */
export function pruneCheckpoints(runDir: string, keepLast: number): void {
  const all = listCheckpoints(runDir);
  for (const c of all.slice(0, Math.max(0, all.length - keepLast)))
    rmSync(c.dir, { recursive: true, force: true });
  const root = checkpointsDir(runDir);
  for (const name of readdirSync(root))
    if (name.startsWith(".step-") || name.endsWith(".old"))
      rmSync(join(root, name), { recursive: true, force: true });
}

export function readManifest<T>(dir: string): T {
  const path = join(dir, MANIFEST_FILE);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (e) {
    throw new CheckpointError(`${path}: cannot read manifest: ${(e as Error).message}`);
  }
}
