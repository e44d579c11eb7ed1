import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { withPath } from "@biomed-llama/safe-files";
import { checkZstdLevel, ZstdFileWriter } from "./zstd-file-writer.js";

export interface PileShardWriterOptions {
  /** Directory the shards go into (created if missing). */
  dir: string;
  /** Start a new shard once a shard holds this many uncompressed JSONL bytes (default 512 MiB). */
  maxShardBytes?: number;
  /** zstd level, 1 to 22 (default 3, as `zstd` uses); anything else is refused up front. */
  level?: number;
  /** Inserted between the subset slug and the shard number, e.g. `"rank3-"` when ranks share a dir. */
  namePrefix?: string;
}

/** One finished shard; `file` is relative to the writer's directory. */
export interface PileShardInfo {
  file: string;
  subset: string;
  docs: number;
  /** UTF-8 bytes of the documents' text. */
  textBytes: number;
  /** Bytes of the uncompressed JSONL, and of the `.zst` file. */
  uncompressedBytes: number;
  compressedBytes: number;
}

/** `"PubMed Abstracts"` → `"pubmed-abstracts"`, `"Wikipedia (en)"` → `"wikipedia-en"`. */
export function subsetSlug(subset: string): string {
  return (
    subset
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "unnamed"
  );
}

interface OpenShard {
  writer: ZstdFileWriter;
  info: PileShardInfo;
}

/**
 * Writes documents back out in The Pile's own format — one `{"text", "meta"}` JSON object per
 * line, zstd-compressed — as one series of shards per subset (`pubmed-abstracts-00000.jsonl.zst`,
 * ...). Each shard is written under a temporary name and renamed when complete.
 */
export class PileShardWriter {
  private readonly open = new Map<string, OpenShard>();
  private readonly counters = new Map<string, number>();
  private readonly done: PileShardInfo[] = [];
  private readonly maxShardBytes: number;

  constructor(private readonly opts: PileShardWriterOptions) {
    this.maxShardBytes = opts.maxShardBytes ?? 512 * 2 ** 20;
    if (opts.level !== undefined) checkZstdLevel(opts.level);
    withPath(opts.dir, () => mkdirSync(opts.dir, { recursive: true }));
  }

  write(doc: { text: string; meta: { pile_set_name: string; [key: string]: unknown } }): void {
    const subset = doc.meta.pile_set_name;
    const line = Buffer.from(`${JSON.stringify({ text: doc.text, meta: doc.meta })}\n`, "utf8");
    let shard = this.open.get(subset);
    if (
      shard &&
      shard.info.uncompressedBytes > 0 &&
      shard.info.uncompressedBytes + line.length > this.maxShardBytes
    ) {
      this.finishShard(shard);
      shard = undefined;
    }
    shard ??= this.startShard(subset);
    shard.writer.write(line);
    shard.info.docs++;
    shard.info.textBytes += Buffer.byteLength(doc.text, "utf8");
    shard.info.uncompressedBytes += line.length;
  }

  /** Shards completed so far. */
  shards(): PileShardInfo[] {
    return this.done.map((s) => ({ ...s }));
  }

  /** Finish every open shard; returns all shards in the order they were completed. */
  close(): PileShardInfo[] {
    for (const shard of [...this.open.values()]) this.finishShard(shard);
    return this.shards();
  }

  /** Delete open shards' temporary files (finished shards stay). */
  abort(): void {
    for (const shard of this.open.values()) shard.writer.abort();
    this.open.clear();
  }

  private startShard(subset: string): OpenShard {
    const n = this.counters.get(subset) ?? 0;
    this.counters.set(subset, n + 1);
    const file = `${subsetSlug(subset)}-${this.opts.namePrefix ?? ""}${String(n).padStart(5, "0")}.jsonl.zst`;
    const finalPath = join(this.opts.dir, file);
    const writer = new ZstdFileWriter(
      join(this.opts.dir, `.${file}.tmp-${process.pid}`),
      finalPath,
      this.opts.level,
    );
    const shard = {
      writer,
      info: { file, subset, docs: 0, textBytes: 0, uncompressedBytes: 0, compressedBytes: 0 },
    };
    this.open.set(subset, shard);
    return shard;
  }

  private finishShard(shard: OpenShard): void {
    shard.writer.finish();
    shard.info.compressedBytes = shard.writer.compressedBytes;
    this.open.delete(shard.info.subset);
    this.done.push(shard.info);
  }
}
