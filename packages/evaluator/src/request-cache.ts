import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { JsonlAppender, makeParents, readJsonl, type Warn } from "@biomed-llama/safe-files";

const defaultWarn: Warn = (m) => process.stderr.write(`warning: ${m}\n`);

export interface CachedScore {
  logprob: number;
  isGreedy: boolean;
}

/**
 * Scored requests, appended to a JSONL file after every batch, keyed by a hash of the model id
 * and the request's exact token ids. An interrupted run re-reads the file and scores only what
 * is missing. Append-only (not temp+rename) because it is a log, kept whole: a line cut short by a
 * crash is dropped with a warning on load and cut off before the next append (never glued onto the
 * next row), and an append that fails (a full disk, a file size limit) is rolled back to the last
 * whole line before the error (naming the file) is thrown.
 */
export class RequestCache {
  private readonly entries = new Map<string, CachedScore>();
  private appender: JsonlAppender | null = null;
  private tornOnLoad = false;

  /** `warn` receives what was dropped (default: a "warning: …" line on stderr). */
  constructor(
    readonly path?: string,
    private readonly warn?: Warn,
  ) {
    if (path && existsSync(path)) {
      let records: unknown[];
      try {
        records = readJsonl(path, (m) => {
          this.tornOnLoad = true;
          (warn ?? defaultWarn)(m);
        });
      } catch (e) {
        throw new Error(
          `${(e as Error).message}: the request cache is damaged; delete it (it is rebuilt) or run with --no-cache`,
        );
      }
      for (const r of records) {
        const rec = r as { k?: unknown; ll?: unknown; g?: unknown } | null;
        if (rec && typeof rec.k === "string" && typeof rec.ll === "number" && typeof rec.g === "boolean")
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
    const added: string[] = [];
    for (const [k, v] of items) {
      if (this.entries.has(k)) continue;
      this.entries.set(k, v);
      added.push(k);
      text += `${JSON.stringify({ k, ll: v.logprob, g: v.isGreedy })}\n`;
    }
    if (!this.path || !text) return;
    try {
      this.append(this.path, text);
    } catch (e) {
      for (const k of added) this.entries.delete(k);
      throw e;
    }
  }

  /** Whole lines or nothing (JsonlAppender); a first append that fails leaves no directory either. */
  private append(path: string, text: string): void {
    const undoParents = existsSync(path) ? () => {} : makeParents(dirname(path));
    try {
      // Created at the first row: a torn line left by a crash is cut off before it (and was already
      // reported if seen on load).
      this.appender ??= new JsonlAppender(path, this.tornOnLoad ? () => {} : (this.warn ?? defaultWarn));
      this.appender.appendLines(text);
    } catch (e) {
      if (!existsSync(path)) undoParents();
      throw e;
    }
  }
}
