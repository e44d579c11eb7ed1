import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

export interface CachedScore {
  logprob: number;
  isGreedy: boolean;
}

/**
 * Scored requests, appended to a JSONL file after every batch, keyed by a hash of the model id
 * and the request's exact token ids. An interrupted run re-reads the file and scores only what
 * is missing. Append-only (not temp+rename) because it is a log: a line cut short by a crash is
 * ignored on load, so the file never holds a wrong answer.
 */
export class RequestCache {
  private readonly entries = new Map<string, CachedScore>();

  constructor(readonly path?: string) {
    if (path && existsSync(path)) {
      for (const line of readFileSync(path, "utf8").split("\n")) {
        if (!line) continue;
        let rec: { k?: unknown; ll?: unknown; g?: unknown };
        try {
          rec = JSON.parse(line);
        } catch {
          continue;
        }
        if (typeof rec.k === "string" && typeof rec.ll === "number" && typeof rec.g === "boolean")
          this.entries.set(rec.k, { logprob: rec.ll, isGreedy: rec.g });
      }
    }
  }

  static key(modelId: string, contextEnc: readonly number[], continuationEnc: readonly number[]): string {
    return createHash("sha256")
      .update(JSON.stringify([modelId, contextEnc, continuationEnc]))
      .digest("hex");
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedScore | undefined {
    return this.entries.get(key);
  }

  setMany(items: Array<[string, CachedScore]>): void {
    let text = "";
    for (const [k, v] of items) {
      if (this.entries.has(k)) continue;
      this.entries.set(k, v);
      text += `${JSON.stringify({ k, ll: v.logprob, g: v.isGreedy })}\n`;
    }
    if (this.path && text) {
      mkdirSync(dirname(this.path), { recursive: true });
      appendFileSync(this.path, text);
    }
  }
}
