import { existsSync } from "node:fs";
import { type Doc, dataPath, readJsonLines } from "../datasets.js";
import { TaskDataError } from "../errors.js";
import type { SplitSource } from "../task.js";

/**
 * Reads a Pile shard's records whose `meta.pile_set_name` is `setName`. A `.jsonl.zst` shard
 * goes through @biomed-llama/pile-reader (loaded on demand so the evaluator works without it for
 * plain `.jsonl`); a plain `.jsonl` with the same records is read directly.
 */
export type PileShardReader = (path: string, setName: string) => Promise<string[]>;

let reader: PileShardReader = defaultPileShardReader;

/** Swap the shard reader (e.g. to one with progress, or in tests). */
export function setPileShardReader(r: PileShardReader): void {
  reader = r;
}

type PileRecordReader = (p: string, setName: string) => AsyncIterable<{ text: string }>;

/**
 * pile-reader's `PileReader` over one shard, when that package (and its zstd binding) loads.
 * Imported lazily so plain-JSONL evaluation never needs the native zstd module.
 */
async function pileRecordReader(): Promise<PileRecordReader | undefined> {
  try {
    const { PileReader } = await import("@biomed-llama/pile-reader");
    return (p, setName) => new PileReader({ inputs: p, subsets: [setName] });
  } catch {
    return undefined;
  }
}

async function defaultPileShardReader(path: string, setName: string): Promise<string[]> {
  if (!path.endsWith(".zst")) {
    return readJsonLines(path)
      .filter((d) => (d.meta as { pile_set_name?: string } | undefined)?.pile_set_name === setName)
      .map((d, i) => {
        if (typeof d.text !== "string")
          throw new TaskDataError(`${path}: record ${i + 1}: field "text" missing`);
        return d.text;
      });
  }
  const open = await pileRecordReader();
  if (!open)
    throw new TaskDataError(`${path}: reading .jsonl.zst needs @biomed-llama/pile-reader (not available)`);
  const texts: string[] = [];
  for await (const rec of open(path, setName)) texts.push(rec.text);
  return texts;
}

/** `pile/<split>.jsonl.zst` as the Pile ships it (through pile-reader), else `pile/<split>.jsonl`. */
export function pileSplit(split: "test" | "val", setName: string): SplitSource {
  const zst = `pile/${split}.jsonl.zst`;
  const plain = `pile/${split}.jsonl`;
  return {
    files: [zst, plain],
    load: async (dataDir): Promise<Doc[]> => {
      const z = dataPath(dataDir, zst);
      const p = dataPath(dataDir, plain);
      const useZst =
        existsSync(z) && (reader !== defaultPileShardReader || !existsSync(p) || (await pileRecordReader()));
      const path = useZst ? z : p;
      if (!existsSync(path)) throw new TaskDataError(`${z}: data file not found (see --data-dir)`);
      const texts = await reader(path, setName);
      if (texts.length === 0)
        throw new TaskDataError(`${path}: no records with meta.pile_set_name "${setName}"`);
      return texts.map((text) => ({ text }));
    },
  };
}
