import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { digestTree, verifyManifest, writeFileAtomic } from "@biomed-llama/safe-files";
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

/** Committed checkpoints of a run (marker + manifest present), oldest first; nothing is verified. */
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

/** Files a manifest's digests do not cover: itself and the marker written after it. */
const UNDIGESTED = (rel: string) => rel === MANIFEST_FILE || rel === COMPLETE_MARKER;

/**
 * Why a committed checkpoint cannot be trusted, or null when every file it lists has the size and
 * sha256 its manifest recorded. A checkpoint written before manifests carried digests (no `files`)
 * is taken as it is.
 */
export function verifyCheckpoint(dir: string): string | null {
  return verifyManifest(dir, MANIFEST_FILE);
}

// Resume reads the newest checkpoint up to three times (run config, model ids, the loop): hash once.
const verified = new Map<string, { key: string; problem: string | null }>();

function verifyOnce(dir: string): string | null {
  let key: string;
  try {
    const st = statSync(join(dir, MANIFEST_FILE));
    key = `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return `${join(dir, MANIFEST_FILE)}: missing`;
  }
  const hit = verified.get(dir);
  if (hit && hit.key === key) return hit.problem;
  const problem = verifyCheckpoint(dir);
  verified.set(dir, { key, problem });
  return problem;
}

/**
 * The newest checkpoint whose files match their manifest's sizes and sha256. Newer ones that do not
 * are skipped, each reported through `warn` with the reason (a resume falls back to the intact older
 * one instead of failing, or worse, training on damaged weights). A CheckpointError naming the run
 * dir (and every skipped checkpoint) when none is left.
 */
export function latestCheckpoint(
  runDir: string,
  warn: (message: string) => void = (m) => process.stderr.write(`warning: ${m}\n`),
): CheckpointRef {
  const all = listCheckpoints(runDir);
  const skipped: string[] = [];
  for (let i = all.length - 1; i >= 0; i--) {
    const problem = verifyOnce(all[i].dir);
    if (problem === null) {
      for (const s of skipped) warn(`skipped checkpoint ${s}`);
      return all[i];
    }
    skipped.push(`${all[i].dir}: ${problem}`);
  }
  if (all.length === 0)
    throw new CheckpointError(
      `${runDir}: no complete checkpoint under ${checkpointsDir(runDir)} to resume from`,
    );
  throw new CheckpointError(`${runDir}: no checkpoint verifies against its manifest (${skipped.join("; ")})`);
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
 * Rank 0, after every rank has written its files into the temp dir: the size and sha256 of every
 * file go into the manifest, written after them; then the marker; then one rename. A crash before
 * the rename leaves only a temp dir, never a damaged checkpoint; an existing checkpoint of the same
 * step (a run resumed from before it) is replaced whole.
 */
export function commitStepDir(runDir: string, step: number, manifest: object): CheckpointRef {
  const tmp = tempStepDir(runDir, step);
  const files = digestTree(tmp, UNDIGESTED);
  writeFileAtomic(join(tmp, MANIFEST_FILE), `${JSON.stringify({ ...manifest, files }, null, 2)}\n`);
  writeFileAtomic(join(tmp, COMPLETE_MARKER), `${new Date().toISOString()}\n`);
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
  verified.delete(dir);
  return { step, dir };
}

/**
 * Keeps the newest `keepLast` committed checkpoints and removes stale temp dirs. Called right after a
 * commit, so the newest kept checkpoint is the one just written and verified by its writer.
 */
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
